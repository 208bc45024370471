"""Parse the endpoint document (format ``makaudit-endpoint``, version 1).

The collection script writes one such JSON document per endpoint. Records come
from ``products`` and ``ospp_products``; only when both are empty does the
``slmgr_dlv`` text stand in for them. A document that carries a full
25-character product key anywhere is rejected: the collection script must
never send one.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Mapping

from makaudit.errors import ParseError
from makaudit.model import ComputerIdentity, EndpointError, EndpointState, LicenseRecord, RecordSource
from makaudit.parsing.slmgr import parse_slmgr_text
from makaudit.parsing.values import parse_date, text_or_none
from makaudit.parsing.wmi import product_record, service_kms_machine
from makaudit.productkey import find_full_keys, is_masked, last_five, mask_full_keys

logger = logging.getLogger(__name__)

DOCUMENT_FORMAT = "makaudit-endpoint"
SUPPORTED_VERSIONS = (1,)
_MAX_DEPTH = 32


def is_endpoint_document(data: Any) -> bool:
    """Tell whether a decoded JSON value claims to be an endpoint document."""
    return isinstance(data, Mapping) and data.get("format") == DOCUMENT_FORMAT


def parse_endpoint_document(data: Mapping[str, Any], source: str) -> EndpointState:
    """Return the endpoint state an endpoint document describes.

    Raises ParseError naming ``source`` and the field when the format or
    version is wrong, a section has the wrong type, ``collected_at`` is not an
    ISO 8601 time, or a full product key is present.
    """
    if not isinstance(data, Mapping):
        raise ParseError(source, "a JSON object (the endpoint document)", detail=f"got {type(data).__name__}")
    _reject_full_keys(data, source)
    _check_format(data, source)

    computer = _computer(data.get("computer"), source)
    collected_at = _collected_at(data.get("collected_at"), source)
    service = _optional_object(data, "service", source)
    products = _object_list(data, "products", source)
    ospp_products = _object_list(data, "ospp_products", source)
    errors = tuple(_errors(data, source))

    machine_kms = service_kms_machine(service)
    records = _records(products + ospp_products, machine_kms)
    if not products and not ospp_products:
        records, errors = _records_from_slmgr(data, source, records, errors)

    return EndpointState(
        computer=computer,
        collected_at=collected_at,
        records=tuple(records),
        errors=errors,
        kms_machine=machine_kms,
        origin=source,
        document=data,
    )


def _check_format(data: Mapping[str, Any], source: str) -> None:
    if data.get("format") != DOCUMENT_FORMAT:
        raise ParseError(
            source,
            f"format {DOCUMENT_FORMAT!r}",
            field="format",
            detail=f"got {data.get('format')!r}",
        )
    version = data.get("version")
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(number) for number in SUPPORTED_VERSIONS)
        raise ParseError(
            source,
            f"version {supported}",
            field="version",
            detail=f"got {version!r}; this makaudit reads only version {supported}, upgrade makaudit for newer documents",
        )


def _reject_full_keys(data: Mapping[str, Any], source: str) -> None:
    """Raise ParseError when any field name or string value contains a full product key.

    The message names the field and the key's last five characters, never the key.
    """
    for path, text, is_name in _strings(data, "$", 0):
        keys = find_full_keys(text)
        oa3_key = not is_name and _is_oa3_key(path, text)
        if not (keys or oa3_key):
            continue

        ending = last_five(keys[0] if keys else text)
        raise ParseError(
            source,
            "no full 25-character product key",
            field=mask_full_keys(path),
            detail=f"the document contains a full product key (ending in {ending}); fix the collection script "
            "so that it sends only PartialProductKey and never OA3xOriginalProductKey, then collect again",
        )


def _is_oa3_key(path: str, value: str) -> bool:
    """Tell whether ``value`` is an unmasked OA3xOriginalProductKey, which is a full key in any form."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf.lower() != "oa3xoriginalproductkey" or not value.strip():
        return False
    return not is_masked(value.replace("-", "").strip())


def _strings(value: Any, path: str, depth: int) -> Iterator[tuple[str, str, bool]]:
    """Yield (path, text, is_name) for every string value and every field name below ``value``."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name_path = f"{path}.{key}"
            yield name_path, str(key), True
            yield from _strings(item, name_path, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", depth + 1)


def _computer(value: Any, source: str) -> ComputerIdentity:
    if value is None:
        return ComputerIdentity()
    if not isinstance(value, Mapping):
        raise ParseError(source, "an object", field="computer", detail=f"got {type(value).__name__}")
    return ComputerIdentity(
        name=text_or_none(value.get("name")),
        dns_host_name=text_or_none(value.get("dns_host_name")),
        domain=text_or_none(value.get("domain")),
        os_caption=text_or_none(value.get("os_caption")),
        os_version=text_or_none(value.get("os_version")),
        uuid=text_or_none(value.get("uuid")),
        ui_culture=text_or_none(value.get("ui_culture")),
    )


def _collected_at(value: Any, source: str):
    if value is None:
        return None
    moment = parse_date(value)
    if moment is None:
        raise ParseError(
            source,
            "an ISO 8601 UTC time such as 2026-12-04T19:40:00Z",
            field="collected_at",
            detail=f"got {value!r}",
        )
    return moment


def _optional_object(data: Mapping[str, Any], field: str, source: str) -> Mapping[str, Any] | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ParseError(source, "an object or null", field=field, detail=f"got {type(value).__name__}")
    return value


def _object_list(data: Mapping[str, Any], field: str, source: str) -> list[Mapping[str, Any]]:
    value = data.get(field)
    if value is None:
        return []
    if isinstance(value, Mapping):
        # Windows PowerShell 5.1 writes a one-element array as a bare object
        # unless the script guards against it; read it as that one element.
        logger.debug("%s: field %r is a bare object, read as a one-element array", source, field)
        return [value]
    if not isinstance(value, list):
        raise ParseError(source, "an array of objects", field=field, detail=f"got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ParseError(source, "an object", field=f"{field}[{index}]", detail=f"got {type(item).__name__}")
    return list(value)


def _errors(data: Mapping[str, Any], source: str) -> Iterator[EndpointError]:
    for item in _object_list(data, "errors", source):
        message = text_or_none(item.get("message")) or "(no message)"
        code = text_or_none(item.get("code"))
        yield EndpointError(source=text_or_none(item.get("source")) or "endpoint", message=message, code=code)


def _records(products: list[Mapping[str, Any]], machine_kms: str | None) -> list[LicenseRecord]:
    records = []
    for product in products:
        record = product_record(product, source=RecordSource.WMI, service_kms=machine_kms)
        if record is not None:
            records.append(record)
    return records


def _records_from_slmgr(
    data: Mapping[str, Any],
    source: str,
    records: list[LicenseRecord],
    errors: tuple[EndpointError, ...],
) -> tuple[list[LicenseRecord], tuple[EndpointError, ...]]:
    text = data.get("slmgr_dlv")
    if text is None:
        return records, errors
    if not isinstance(text, str):
        raise ParseError(source, "a string or null", field="slmgr_dlv", detail=f"got {type(text).__name__}")
    if not text.strip():
        return records, errors

    try:
        state = parse_slmgr_text(text, f"{source} (slmgr_dlv)")
    except ParseError as error:
        logger.warning("%s: slmgr_dlv text not readable: %s", source, error)
        return records, errors + (EndpointError(source="slmgr", message=f"slmgr_dlv text not readable: {error}"),)
    return list(state.records), errors + state.errors
