"""Parse ``ospp.vbs`` output: ``/dstatus`` and actions such as ``/act``, ``/sethst`` and ``/unpkey``.

ospp.vbs prints English on every Windows; only the Windows Script Host banner
in front is localized, and the console module drops it. Products are separated
by lines of dashes. A ``/dstatus`` block (it has ``LICENSE STATUS``) becomes a
record; an action block becomes no record, and its ``ERROR CODE`` an
``EndpointError``. Output filtered through ``findstr`` keeps only some lines
and no dashes, so a repeated field also starts a new block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from makaudit.analysis.classify import classify_application, classify_channel
from makaudit.errors import ParseError
from makaudit.model import ComputerIdentity, EndpointError, EndpointState, LicenseRecord, LicenseStatus, RecordSource
from makaudit.parsing.console import Line, console_lines, wrap_joiner
from makaudit.parsing.text import find_hresult

EXPECTED = "ospp.vbs output (/dstatus, /act, /sethst, /unpkey ...)"

LABELS: dict[str, str] = {
    "PRODUCT ID": "product_id",
    "SKU ID": "sku_id",
    "ID": "sku_id",
    "LICENSE NAME": "name",
    "LICENSE DESCRIPTION": "description",
    "BETA EXPIRATION": "expiration",
    "EXPIRATION": "expiration",
    "LICENSE STATUS": "status",
    "ERROR CODE": "error_code",
    "ERROR DESCRIPTION": "error_description",
    "REMAINING GRACE": "remaining_grace",
    "LAST 5 CHARACTERS OF INSTALLED PRODUCT KEY": "partial_product_key",
    "ACTIVATION TYPE CONFIGURATION": "activation_type",
    "KMS MACHINE NAME FROM DNS": "kms_machine_dns",
    "KMS MACHINE NAME": "kms_machine_registered",
    "KMS MACHINE REGISTRY OVERRIDE DEFINED": "kms_machine_registered",
    "DNS AUTO-DISCOVERY": "kms_discovery",
    "ACTIVATION INTERVAL": "activation_interval",
    "RENEWAL INTERVAL": "renewal_interval",
    "KMS HOST CACHING": "kms_host_caching",
    "UNINSTALLING PRODUCT KEY FOR": "uninstalling",
    "NOTICE": "notice",
    "FOR MORE INFORMATION PLEASE VISIT": "notice",
}
"""Label (upper case, ``*`` removed) to field of a product block."""

_STATUSES: dict[str, LicenseStatus | None] = {
    "LICENSED": LicenseStatus.LICENSED,
    "UNLICENSED": LicenseStatus.UNLICENSED,
    "OOB_GRACE": LicenseStatus.OOB_GRACE,
    "OOT_GRACE": LicenseStatus.OOT_GRACE,
    "NON_GENUINE_GRACE": LicenseStatus.NON_GENUINE_GRACE,
    "NOTIFICATIONS": LicenseStatus.NOTIFICATION,
    "EXTENDEDGRACE": LicenseStatus.EXTENDED_GRACE,
    "EXTENDED_GRACE": LicenseStatus.EXTENDED_GRACE,
    "UNKNOWN": None,
}
"""Status constants of ospp.vbs without the dashes and spaces (``---OOB_GRACE---``)."""

MARKERS: tuple[str, ...] = (
    "---Processing---",
    "---Exiting---",
    "Installed product key detected - attempting to activate the following product",
    "<Product activation successful>",
    "<Product key uninstall successful>",
    "<Product key installation successful>",
    "Successfully applied setting.",
    "To view the activation event history run",
    "No installed product keys detected",
)
"""Whole lines (or their start) that only ospp.vbs prints."""

_LABEL_LINE = re.compile(r"^\s*(?P<label>[A-Za-z0-9 *\-]+?)\s*:\s*(?P<value>.*?)\s*$")
_DASHES = re.compile(r"^\s*-{5,}\s*$")
_SECTION = re.compile(r"^\s*---(?:Processing|Exiting)-*\s*$", re.I)
_STARTS_BLOCK = ("product_id", "sku_id", "name")
_GRACE_MINUTES = re.compile(r"\((?P<minutes>\d+)\s*minute")


@dataclass
class _Block:
    fields: dict[str, str] = field(default_factory=dict)
    action: bool = False
    last_field: str | None = None


def looks_like_ospp(text: str) -> bool:
    """Tell whether ``text`` contains ospp.vbs markers or its upper-case labels."""
    if any(marker in text for marker in MARKERS):
        return True
    return bool(re.search(r"^\s*(?:LICENSE (?:NAME|STATUS|DESCRIPTION)|SKU ID)\s*:", text, re.M))


def parse_ospp_text(text: str, source: str) -> EndpointState:
    """Return the state that ospp.vbs output describes; ParseError when no line is ospp output."""
    lines, _banner = console_lines(text)
    blocks, recognised = _blocks(lines)
    if recognised == 0:
        raise ParseError(source, EXPECTED, detail=f"no ospp.vbs label or marker in {len(lines)} line(s)")

    records: list[LicenseRecord] = []
    errors: list[EndpointError] = []
    for block in blocks:
        if "status" in block.fields and not block.action:
            records.append(_record(block.fields))
        elif "error_code" in block.fields:
            errors.append(_error(block.fields))

    return EndpointState(
        computer=ComputerIdentity(),
        collected_at=None,
        records=tuple(records),
        errors=tuple(errors),
        kms_machine=next((record.kms_machine for record in records if record.kms_machine), None),
        origin=source,
    )


def _blocks(lines: list[Line]) -> tuple[list[_Block], int]:
    blocks: list[_Block] = [_Block()]
    recognised = 0
    previous_length: int | None = None

    for line in lines:
        stripped = line.stripped
        if not stripped:
            previous_length = None
            continue

        if _DASHES.match(stripped) or _SECTION.match(stripped):
            recognised += 1
            blocks.append(_Block())
            previous_length = None
            continue

        current = blocks[-1]
        if any(stripped.startswith(marker) for marker in MARKERS):
            recognised += 1
            current.action = current.action or not stripped.startswith("---")
            previous_length = None
            continue

        field_name, value = _label(stripped)
        if field_name is not None:
            recognised += 1
            if field_name in current.fields and field_name in _STARTS_BLOCK or (
                field_name in ("product_id", "sku_id") and "name" in current.fields
            ):
                current = _Block()
                blocks.append(current)
            if field_name == "uninstalling":
                current.action = True
            current.fields[field_name] = value
            current.last_field = field_name
            previous_length = len(line.text)
            continue

        joiner = wrap_joiner(previous_length) if previous_length is not None else None
        if current.last_field is not None and joiner is not None:
            current.fields[current.last_field] += joiner + stripped
            previous_length = len(line.text)
            continue
        previous_length = None

    return [block for block in blocks if block.fields], recognised


def _label(stripped: str) -> tuple[str | None, str]:
    match = _LABEL_LINE.match(stripped)
    if match is None:
        return None, ""
    label = " ".join(match.group("label").replace("*", " ").split()).upper()
    return LABELS.get(label), match.group("value")


def _clean(value: str | None) -> str:
    # Web copies insert a space after underscores ("TIMEBASED_ SUB").
    return (value or "").replace("_ ", "_").strip()


def _status(value: str) -> LicenseStatus | None:
    token = re.sub(r"[\s-]", "", value.replace("_ ", "_")).upper()
    return _STATUSES.get(token)


def _record(fields: dict[str, str]) -> LicenseRecord:
    name = _clean(fields.get("name"))
    description = _clean(fields.get("description"))
    partial_key = fields.get("partial_product_key", "").strip() or None
    application = classify_application(None, name, description)
    grace = _GRACE_MINUTES.search(fields.get("remaining_grace", ""))
    kms = fields.get("kms_machine_registered") or fields.get("kms_machine_dns") or None
    return LicenseRecord(
        application=application,
        name=name,
        description=description,
        channel=classify_channel(
            description=description,
            partial_product_key=partial_key,
            name=name,
            application=application,
        ),
        partial_product_key=partial_key,
        license_status=_status(fields.get("status", "")),
        source=RecordSource.OSPP,
        license_status_reason=find_hresult(fields.get("error_code", "")),
        grace_minutes=int(grace.group("minutes")) if grace else None,
        kms_machine=kms.strip() if kms else None,
        activation_id=fields.get("sku_id", "").strip() or None,
    )


def _error(fields: dict[str, str]) -> EndpointError:
    name = _clean(fields.get("name"))
    detail = fields.get("error_description") or "the action failed"
    message = f"{name}: {detail}" if name else detail
    return EndpointError(source="ospp", message=message, code=find_hresult(fields["error_code"]))
