"""Parse JSON that holds SoftwareLicensingProduct / SoftwareLicensingService objects.

Accepted: ``Get-CimInstance ... | ConvertTo-Json`` from Windows PowerShell 5.1
and PowerShell 7 (a bare object instead of a one-element array, whole
CimInstance objects with ``CimClass`` / ``CimInstanceProperties`` noise,
values cut to type-name strings at the depth limit, ``\\/Date(ms)\\/`` dates
and the ``{"value": ..., "DateTime": ...}`` wrapper); Zabbix ``wmi.getall``
arrays; custom audit scripts that nest the objects under other keys; GLPI
Agent ``licenseinfos``; Ansible facts. The walk is bounded in depth and size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from makaudit.errors import ParseError
from makaudit.model import ComputerIdentity, EndpointState, LicenseRecord, RecordSource
from makaudit.parsing.agents import ansible_products, license_info_product
from makaudit.parsing.values import text_or_none
from makaudit.parsing.wmi import looks_like_product, looks_like_service, product_record, service_kms_machine

EXPECTED = "JSON with SoftwareLicensingProduct or SoftwareLicensingService objects"

MAX_DEPTH = 32
MAX_NODES = 200_000

_CIM_NOISE = frozenset({"cimclass", "ciminstanceproperties", "cimsystemproperties"})
_COMPUTER_KEYS = ("PSComputerName", "__SERVER", "CSName", "ComputerName", "computer_name", "hostname", "host")


@dataclass
class _Found:
    products: list[tuple[Mapping[str, Any], RecordSource, str | None]] = field(default_factory=list)
    """Each product with its source and the computer named in the object itself (PSComputerName), if any."""
    services: list[tuple[Mapping[str, Any], str | None]] = field(default_factory=list)
    computer_name: str | None = None
    nodes: int = 0


def parse_json_text(text: str, source: str) -> list[EndpointState]:
    """Decode ``text`` as JSON (or a ``"key": [...]`` fragment) and parse it with ``parse_json_dump``."""
    try:
        data = json.loads(text)
    except ValueError as error:
        data = json_fragment(text)
        if data is None:
            raise ParseError(source, "valid JSON", line=error.lineno, detail=error.msg) from None
    except RecursionError:
        raise ParseError(source, f"JSON nested at most {MAX_DEPTH} levels deep") from None
    return parse_json_dump(data, source)


def json_fragment(text: str) -> Any:
    """Read a pasted ``"licenseinfos": [...]`` fragment by wrapping it in braces."""
    stripped = text.strip().rstrip(",")
    if not stripped.startswith('"'):
        return None
    try:
        return json.loads("{" + stripped + "}")
    except (ValueError, RecursionError):
        return None


def parse_json_dump(data: Any, source: str, computer_name: str | None = None) -> list[EndpointState]:
    """Return the states the licensing objects in decoded JSON describe; ParseError when there are none.

    A dump of several computers (``Get-CimInstance -ComputerName A,B``) gives one state per
    PSComputerName; objects without a name of their own belong to the first computer.
    """
    found = _Found(computer_name=computer_name)
    _walk(data, found, 0, source)
    if not found.products and not found.services:
        raise ParseError(source, EXPECTED, detail="no object with Name and Description, LicenseStatus or PartialProductKey")

    names = _distinct_names([name for _, _, name in found.products] + [name for _, name in found.services])
    if len(names) <= 1:
        return [_state(found.products, found.services, found.computer_name, source)]

    states = []
    for index, key in enumerate(names):
        def belongs(name: str | None) -> bool:
            return (name or "").upper() == key or (name is None and index == 0)

        products = [item for item in found.products if belongs(item[2])]
        services = [item for item in found.services if belongs(item[1])]
        display = next((name for name in [*(item[2] for item in products), *(item[1] for item in services)] if name), key)
        states.append(_state(products, services, display, source))
    return states


def _distinct_names(names: list[str | None]) -> list[str]:
    """Return the distinct computer names, upper-case, in order of first appearance."""
    distinct: list[str] = []
    for name in names:
        if name and name.upper() not in distinct:
            distinct.append(name.upper())
    return distinct


def _state(
    products: list[tuple[Mapping[str, Any], RecordSource, str | None]],
    services: list[tuple[Mapping[str, Any], str | None]],
    computer_name: str | None,
    source: str,
) -> EndpointState:
    service = services[0][0] if services else None
    machine_kms = service_kms_machine(service)
    records: list[LicenseRecord] = []
    for product, record_source, _ in products:
        record = product_record(product, source=record_source, service_kms=machine_kms)
        if record is not None:
            records.append(record)

    return EndpointState(
        computer=ComputerIdentity(name=computer_name),
        collected_at=None,
        records=tuple(records),
        kms_machine=machine_kms,
        origin=source,
    )


def _walk(value: Any, found: _Found, depth: int, source: str) -> None:
    found.nodes += 1
    if found.nodes > MAX_NODES:
        raise ParseError(source, f"JSON with at most {MAX_NODES} values", detail="the document is too large to be a licensing dump")
    if depth > MAX_DEPTH:
        return

    if isinstance(value, list):
        for item in value:
            _walk(item, found, depth + 1, source)
        return
    if not isinstance(value, Mapping):
        return

    values = _flatten_cim_instance(value)
    _note_computer(values, found)

    facts = values.get("ansible_facts")
    if isinstance(facts, Mapping) and "ansible_os_license_edition" in facts:
        found.products.extend((product, RecordSource.WMI, None) for product in ansible_products(facts))
        return

    agent_product = license_info_product(values)
    if agent_product is not None:
        found.products.append((agent_product, RecordSource.WMI, None))
        return
    if looks_like_product(values):
        found.products.append((values, RecordSource.WMI, _own_computer(values)))
        return
    if looks_like_service(values):
        found.services.append((values, _own_computer(values)))
        return

    for item in values.values():
        if isinstance(item, (list, Mapping)):
            _walk(item, found, depth + 1, source)


def _flatten_cim_instance(value: Mapping[str, Any]) -> dict[str, Any]:
    """Drop CimInstance noise; when only CimInstanceProperties carries the values, lift them up."""
    lifted: dict[str, Any] = {}
    properties = next((item for key, item in value.items() if str(key).lower() == "ciminstanceproperties"), None)
    if isinstance(properties, list):
        for item in properties:
            if isinstance(item, Mapping) and isinstance(item.get("Name"), str):
                lifted[item["Name"]] = item.get("Value")

    flattened = {key: item for key, item in value.items() if str(key).lower() not in _CIM_NOISE}
    for key, item in lifted.items():
        flattened.setdefault(key, item)
    return flattened


_OWN_COMPUTER_KEYS = ("pscomputername", "__server")


def _own_computer(values: Mapping[str, Any]) -> str | None:
    """Return the computer a WMI or CIM object names itself (PSComputerName, __SERVER), if any."""
    for key, item in values.items():
        if str(key).lower() in _OWN_COMPUTER_KEYS:
            name = text_or_none(item)
            if name:
                return name
    return None


def _note_computer(values: Mapping[str, Any], found: _Found) -> None:
    if found.computer_name:
        return
    lowered = {str(key).lower(): item for key, item in values.items()}
    for key in _COMPUTER_KEYS:
        name = text_or_none(lowered.get(key.lower()))
        if name:
            found.computer_name = name
            return
