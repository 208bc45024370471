"""Parse PowerShell list views (``Format-List``, or the default view of ``Select-Object``).

A list view prints one ``Name : value`` line per property, names padded to a
common width, objects separated by blank lines, and long values wrapped at the
console width with the continuation indented to the value column. The objects
can be SoftwareLicensingProduct or SoftwareLicensingService instances (from
``Get-CimInstance`` or ``Get-WmiObject``), Win32_OperatingSystem, or objects
that a script built from slmgr text, whose property names are slmgr labels
(``Partial Product Key``). Objects that name different computers
(``PSComputerName``, ``__SERVER``, ``ComputerName``) become separate states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from makaudit.errors import ParseError
from makaudit.model import ComputerIdentity, EndpointState, LicenseRecord, RecordSource
from makaudit.parsing.console import MAX_LINES
from makaudit.parsing.slmgr_labels import ENGLISH
from makaudit.parsing.text import mask_full_keys
from makaudit.parsing.values import text_or_none
from makaudit.parsing.wmi import looks_like_product, looks_like_service, product_record, service_kms_machine

EXPECTED = "a PowerShell list view (Name : value lines) of SoftwareLicensingProduct or SoftwareLicensingService"

_PROPERTY_LINE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_ ()\-]*?)\s+:(?: (?P<value>.*))?$")
_COMPUTER_PROPERTIES = ("ComputerName", "__SERVER", "CSName", "PSComputerName")
_IP_ADDRESS = re.compile(r"^[0-9.]+$|:")

# slmgr labels (as a script copied them into property names) to WMI property names.
_SLMGR_TO_WMI = {
    "name": "Name",
    "description": "Description",
    "activation_id": "ID",
    "application_id": "ApplicationID",
    "product_key_channel": "ProductKeyChannel",
    "partial_product_key": "PartialProductKey",
    "license_status": "LicenseStatus",
}


@dataclass
class _Object:
    properties: dict[str, str] = field(default_factory=dict)
    value_column: int | None = None
    last_name: str | None = None


def looks_like_list_view(text: str) -> bool:
    """Tell whether at least two lines have the ``Name<spaces>: value`` shape of a list view."""
    count = 0
    for raw in text.split("\n")[:2000]:
        if _PROPERTY_LINE.match(raw.rstrip()) and " :" in raw:
            count += 1
            if count >= 2:
                return True
    return False


def parse_list_view(text: str, source: str) -> list[EndpointState]:
    """Return one state per computer named in the list view; ParseError when it contains no licensing object."""
    objects = _objects(mask_full_keys(text))
    if not objects:
        raise ParseError(source, EXPECTED, detail="no 'Name : value' line found")

    groups: dict[str | None, list[_Object]] = {}
    for item in objects:
        groups.setdefault(_computer_name(item.properties), []).append(item)

    states = [_state(name, items, source) for name, items in groups.items()]
    states = [state for state in states if state is not None]
    if not states:
        raise ParseError(
            source,
            EXPECTED,
            detail="the list view holds no SoftwareLicensingProduct, SoftwareLicensingService or slmgr object",
        )
    return states


def _objects(text: str) -> list[_Object]:
    objects: list[_Object] = []
    current: _Object | None = None

    for raw in text.split("\n")[:MAX_LINES]:
        line = raw.rstrip()
        if not line.strip():
            current = None
            continue

        continuation = _continuation(current, raw)
        if continuation is not None and current is not None and current.last_name is not None:
            current.properties[current.last_name] += continuation
            continue

        match = _PROPERTY_LINE.match(line)
        if match is None:
            continue
        if current is None:
            current = _Object()
            objects.append(current)
        name = match.group("name").strip()
        current.properties[name] = (match.group("value") or "").strip()
        current.value_column = line.index(":", len(match.group("name"))) + 2
        current.last_name = name
    return objects


def _continuation(current: _Object | None, raw: str) -> str | None:
    if current is None or current.value_column is None:
        return None
    indent = len(raw) - len(raw.lstrip(" "))
    if indent != current.value_column or not raw.strip():
        return None
    return raw.strip()


def _computer_name(properties: dict[str, str]) -> str | None:
    lowered = {name.lower(): value for name, value in properties.items()}
    for name in _COMPUTER_PROPERTIES:
        value = text_or_none(lowered.get(name.lower()))
        if value and name == "PSComputerName" and not _IP_ADDRESS.search(value):
            # PSComputerName is the name the caller connected to, often a
            # fully qualified DNS name; its first label is the computer name.
            return value.split(".", 1)[0].upper()
        if value:
            return value
    return None


def _state(computer_name: str | None, items: list[_Object], source: str) -> EndpointState | None:
    service = next((item.properties for item in items if looks_like_service(item.properties)), None)
    machine_kms = service_kms_machine(service)
    records: list[LicenseRecord] = []
    os_caption = os_version = None
    recognised = service is not None

    for item in items:
        slmgr_properties = _from_slmgr_labels(item.properties)
        if slmgr_properties is not None:
            recognised = True
            record = product_record(slmgr_properties, source=RecordSource.SLMGR, service_kms=machine_kms)
        elif looks_like_product(item.properties):
            recognised = True
            record = product_record(item.properties, source=RecordSource.WMI, service_kms=machine_kms)
        else:
            record = None
            os_caption = os_caption or _os_value(item.properties, "Caption", "WMI Operating System")
            os_version = os_version or _os_value(item.properties, "Version", "WMI Operating System Version")
        if record is not None:
            records.append(record)

    if not recognised:
        return None
    return EndpointState(
        computer=ComputerIdentity(name=computer_name, os_caption=os_caption, os_version=os_version),
        collected_at=None,
        records=tuple(records),
        kms_machine=machine_kms,
        origin=source,
    )


def _os_value(properties: dict[str, str], *names: str) -> str | None:
    lowered = {name.lower(): value for name, value in properties.items()}
    if "caption" not in lowered and "wmi operating system" not in lowered:
        return None
    for name in names:
        value = text_or_none(lowered.get(name.lower()))
        if value:
            return value
    return None


def _from_slmgr_labels(properties: dict[str, str]) -> dict[str, str] | None:
    """Map an object whose property names are English slmgr labels to WMI property names, else None."""
    by_label = {
        text.lower(): field_name for field_name, texts in ENGLISH.labels.items() for text in texts
    }
    mapped: dict[str, str] = {}
    for name, value in properties.items():
        field_name = by_label.get(name.lower())
        if field_name in _SLMGR_TO_WMI and " " in name:
            mapped[_SLMGR_TO_WMI[field_name]] = value
    if "PartialProductKey" not in mapped and "LicenseStatus" not in mapped:
        return None
    mapped.setdefault("Name", properties.get("Name", ""))
    mapped.setdefault("Description", properties.get("Description", ""))
    return mapped
