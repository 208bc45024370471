"""Recognise a file's format from its content and parse it.

The file name is never consulted: captures arrive renamed, with a ``.txt`` or
``.log`` extension whatever they hold.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from makaudit.errors import InputError, ParseError
from makaudit.model import ComputerIdentity, EndpointState, LicenseRecord
from makaudit.parsing.agents import (
    looks_like_ansible,
    looks_like_license_xml,
    parse_license_xml,
    split_ansible_output,
)
from makaudit.parsing.cim_json import json_fragment, parse_json_dump
from makaudit.parsing.endpoint import is_endpoint_document, parse_endpoint_document
from makaudit.parsing.listview import looks_like_list_view, parse_list_view
from makaudit.parsing.ospp import looks_like_ospp, parse_ospp_text
from makaudit.parsing.slmgr import parse_slmgr_text
from makaudit.parsing.text import decode_text, mask_full_keys
from makaudit.parsing.wmi import product_record

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest file read; a licensing capture or endpoint document is a few kilobytes."""

EXPECTED = (
    "an endpoint document, a WMI/CIM JSON dump or list view, slmgr.vbs or ospp.vbs output, "
    "Ansible facts, or a GLPI/FusionInventory license export"
)


def parse_bytes(data: bytes, source: str) -> list[EndpointState]:
    """Return the endpoint states in ``data``, whatever supported format it has; ParseError otherwise.

    Every text field of the states is masked once more at the end: a full product key split by an
    80-column console wrap only becomes whole when the parser joins the wrapped lines.
    """
    return [_masked(state) for state in _parse_bytes(data, source)]


def _masked(state: EndpointState) -> EndpointState:
    records = tuple(_masked_record(record) for record in state.records)
    errors = tuple(dataclasses.replace(error, message=mask_full_keys(error.message)) for error in state.errors)
    return dataclasses.replace(state, records=records, errors=errors)


def _masked_record(record: LicenseRecord) -> LicenseRecord:
    changes = {}
    for name in ("name", "description", "kms_machine", "license_status_reason"):
        value = getattr(record, name)
        if isinstance(value, str):
            masked = mask_full_keys(value)
            if masked != value:
                changes[name] = masked
    return dataclasses.replace(record, **changes) if changes else record


def _parse_bytes(data: bytes, source: str) -> list[EndpointState]:
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(source, f"a file of at most {MAX_FILE_BYTES} bytes", detail=f"got {len(data)} bytes")
    text = decode_text(data)
    stripped = text.strip()
    if not stripped:
        raise ParseError(source, EXPECTED, detail="the file is empty")

    if stripped[0] in "{[\"":
        data = _decode_json(stripped)
        if data is not None:
            return _parse_json(data, source)
    if looks_like_license_xml(stripped):
        return _parse_license_xml(stripped, source)
    if looks_like_ansible(stripped):
        return _parse_ansible(stripped, source)
    if looks_like_ospp(stripped):
        return [parse_ospp_text(text, source)]
    if looks_like_list_view(text):
        try:
            return parse_list_view(text, source)
        except ParseError:
            logger.debug("%s: list-view lines hold no licensing object, trying slmgr", source)
    return [parse_slmgr_text(text, source)]


def parse_file(path: Path | str) -> list[EndpointState]:
    """Read ``path`` and return its endpoint states; InputError when it cannot be read."""
    file_path = Path(path)
    try:
        size = file_path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseError(str(file_path), f"a file of at most {MAX_FILE_BYTES} bytes", detail=f"got {size} bytes")
        data = file_path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file_path}: file not found; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{file_path}: is a folder, not a file") from None
    except OSError as error:
        raise InputError(f"{file_path}: cannot be read ({error.strerror or error}); check its permissions") from None
    return parse_bytes(data, str(file_path))


def _decode_json(text: str) -> object | None:
    """Return the decoded JSON (or pasted ``"key": [...]`` fragment), or None when ``text`` is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return json_fragment(text)


def _parse_json(data: object, source: str) -> list[EndpointState]:
    if is_endpoint_document(data):
        return [parse_endpoint_document(data, source)]
    if isinstance(data, dict) and "format" in data and "version" in data and "computer" in data:
        # Shaped like an endpoint document but with another format name, so
        # report the wrong format instead of reading it as a generic dump.
        return [parse_endpoint_document(data, source)]
    return parse_json_dump(data, source)


def _parse_license_xml(text: str, source: str) -> list[EndpointState]:
    products = parse_license_xml(text, source)
    if not products:
        raise ParseError(source, "<LICENSEINFOS> elements with FULLNAME and NAME")
    records = tuple(record for product in products if (record := product_record(product)) is not None)
    return [EndpointState(computer=ComputerIdentity(), collected_at=None, records=records, origin=source)]


def _parse_ansible(text: str, source: str) -> list[EndpointState]:
    states: list[EndpointState] = []
    for host, value in split_ansible_output(text):
        try:
            states.extend(parse_json_dump(value, source, computer_name=host))
        except ParseError:
            logger.debug("%s: Ansible result for %s contains no ansible_os_license_* facts, skipped", source, host)
    if not states:
        raise ParseError(source, "Ansible output with ansible_os_license_* facts")
    return states
