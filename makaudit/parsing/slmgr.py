"""Parse ``slmgr.vbs`` output: ``/dli``, ``/dlv``, ``/dlv all``, ``/xpr`` and actions such as ``/ato``.

Labels, status words and sentences come from the per-language table in
``slmgr_labels``; every language is tried on every line, because slmgr falls
back to English for any string its localized resource file lacks. License
output yields one record per product block that has an installed key. Action
output (``/ato``, ``/ipk``, ``/rearm``, ``/act``) yields no records but keeps
each error, with its HRESULT when one is printed, as an ``EndpointError``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from makaudit.analysis.classify import channel_from_name, classify_application, classify_channel
from makaudit.errors import ParseError
from makaudit.model import Channel, ComputerIdentity, EndpointError, EndpointState, LicenseRecord, LicenseStatus, RecordSource
from makaudit.parsing.console import Line, console_lines, wrap_joiner
from makaudit.parsing.slmgr_labels import LANGUAGES, XPR_STATUS
from makaudit.parsing.text import find_hresult
from makaudit.parsing.values import parse_date

logger = logging.getLogger(__name__)

EXPECTED = "slmgr.vbs output (/dli, /dlv, /xpr, or an action such as /ato, /ipk or /rearm)"

_XPR_WITHOUT_DATE = frozenset({"permanent", "notification", "unlicensed"})
_CSCRIPT_ERROR = re.compile(r"^(?:Input Error:|CScript Error:|Windows Script Host Error|Script file .* not found\.?)", re.I)
_FIRST_NUMBER = re.compile(r"\d+")


def _label_table() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    fields_by_label: dict[str, list[str]] = {}
    for language in LANGUAGES:
        for field_name, texts in language.labels.items():
            for text in texts:
                fields = fields_by_label.setdefault(text.lower(), [])
                if field_name not in fields:
                    fields.append(field_name)
    labels = sorted(fields_by_label, key=len, reverse=True)
    alternation = "|".join(re.escape(label) for label in labels)
    pattern = re.compile(rf"^\s*(?P<label>{alternation})\s*[:：]\s*(?P<value>.*?)\s*$", re.I)
    return pattern, {label: tuple(fields) for label, fields in fields_by_label.items()}


_LABEL_LINE, _FIELDS_BY_LABEL = _label_table()

_SENTENCES: dict[str, str] = {
    text.lower().rstrip("."): name
    for language in LANGUAGES
    for name, texts in language.sentences.items()
    for text in texts
}
_STATUSES: dict[str, LicenseStatus] = {
    text.lower().rstrip("."): status for language in LANGUAGES for text, status in language.statuses.items()
}
_XPR: tuple[tuple[str, str], ...] = tuple(
    sorted(
        ((text, kind) for language in LANGUAGES for kind, texts in language.xpr.items() for text in texts),
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
)
_ERROR_PREFIX = re.compile(
    r"(?:^|[\s.。)])(?P<prefix>"
    + "|".join(re.escape(prefix) for language in LANGUAGES for prefix in language.error_prefixes)
    + r")\s*[:：]\s*(?P<message>.*)$"
)
_ACTIVATING = tuple(prefix for language in LANGUAGES for prefix in language.activating_prefixes)
_SUCCESS = tuple(text for language in LANGUAGES for text in language.success_sentences)
_NOT_AVAILABLE = frozenset(
    text.lower()
    for language in LANGUAGES
    for name in ("not_available", "dns_auto_discovery_unavailable")
    for text in language.sentences.get(name, ())
)


@dataclass
class _Block:
    """The fields of one product block, in the order slmgr printed them."""

    fields: dict[str, str] = field(default_factory=dict)
    not_in_use: bool = False
    first_line: int = 0


@dataclass
class _Reading:
    blocks: list[_Block] = field(default_factory=list)
    xpr_records: list[LicenseRecord] = field(default_factory=list)
    errors: list[EndpointError] = field(default_factory=list)
    recognised: int = 0
    service_version: str | None = None


def parse_slmgr_text(text: str, source: str) -> EndpointState:
    """Return the state that slmgr output describes; ParseError when no line is slmgr output."""
    lines, banner = console_lines(text)
    line_count = len(lines)
    reading = _read(_join_wrapped(lines))

    if reading.recognised == 0:
        detail = "only a Windows Script Host banner" if banner else f"no known label in {line_count} line(s)"
        raise ParseError(source, EXPECTED, detail=detail)

    records = [record for block in reading.blocks if (record := _block_record(block)) is not None]
    records += reading.xpr_records
    machine_kms = next((record.kms_machine for record in records if record.kms_machine), None)
    return EndpointState(
        computer=ComputerIdentity(),
        collected_at=None,
        records=tuple(records),
        errors=tuple(reading.errors),
        kms_machine=machine_kms,
        origin=source,
    )


def looks_like_slmgr(text: str) -> bool:
    """Tell whether any line of ``text`` carries a known slmgr label, sentence or /xpr sentence."""
    for raw in text.split("\n")[:2000]:
        if _LABEL_LINE.match(raw) or _sentence(raw) or _xpr_match(raw) is not None:
            return True
    return False


def _join_wrapped(lines: list[Line]) -> list[Line]:
    joined: list[Line] = []
    for line in lines:
        if joined and line.stripped and not _is_known(line.text):
            joiner = wrap_joiner(len(joined[-1].text))
            if joiner is not None:
                previous = joined[-1]
                joined[-1] = Line(previous.number, previous.text.rstrip("\n") + joiner + line.text.strip())
                continue
        joined.append(line)
    return joined


def _is_known(text: str) -> bool:
    return bool(_LABEL_LINE.match(text) or _sentence(text) or _is_action_line(text))


def _sentence(text: str) -> str | None:
    return _SENTENCES.get(text.strip().lower().rstrip("."))


def _is_action_line(text: str) -> bool:
    stripped = text.strip()
    return bool(
        _ERROR_PREFIX.search(stripped)
        or _CSCRIPT_ERROR.match(stripped)
        or stripped.startswith(_ACTIVATING)
        or stripped.startswith(_SUCCESS)
    )


def _read(lines: list[Line]) -> _Reading:
    reading = _Reading()
    current: _Block | None = None
    pending_name: str | None = None
    activating: str | None = None

    for line in lines:
        stripped = line.stripped
        if not stripped:
            continue

        match = _LABEL_LINE.match(line.text)
        if match is not None:
            reading.recognised += 1
            current = _take_label(reading, current, match.group("label"), match.group("value"), line.number)
            continue

        sentence = _sentence(stripped)
        if sentence is not None:
            reading.recognised += 1
            if sentence == "not_in_use" and current is not None:
                current.not_in_use = True
            continue

        xpr = _xpr_match(stripped)
        if xpr is not None:
            name, kind, rest = xpr
            name = name or pending_name
            if name:
                reading.recognised += 1
                reading.xpr_records.append(_xpr_record(name, kind, rest))
                pending_name = None
                continue

        if _take_action(reading, stripped, activating):
            if stripped.startswith(_ACTIVATING):
                activating = _activated_name(stripped)
            continue

        if stripped.endswith((":", "：")):
            pending_name = stripped[:-1].strip()
    return reading


def _take_label(reading: _Reading, current: _Block | None, label: str, value: str, number: int) -> _Block | None:
    fields = _FIELDS_BY_LABEL.get(label.lower())
    if fields is None:
        # The pattern matches case-insensitively, but lower() folds some letters differently (Turkish I).
        return current
    if fields[0] == "service_version":
        reading.service_version = value
        return current

    if fields[0] == "name" or current is None:
        current = _Block(first_line=number)
        reading.blocks.append(current)

    # One label can name several fields in order (German prints the same
    # rearm label twice: the Windows count, then the SKU count).
    target = next((name for name in fields if name not in current.fields), fields[-1])
    current.fields[target] = value
    return current


def _take_action(reading: _Reading, stripped: str, activating: str | None) -> bool:
    if stripped.startswith(_ACTIVATING) or stripped.startswith(_SUCCESS):
        reading.recognised += 1
        error = _ERROR_PREFIX.search(stripped)
        if error is not None:
            reading.errors.append(_error(error.group("message"), _activated_name(stripped)))
        return True

    error = _ERROR_PREFIX.search(stripped)
    if error is not None:
        reading.recognised += 1
        reading.errors.append(_error(error.group("message"), activating))
        return True

    if _CSCRIPT_ERROR.match(stripped):
        reading.recognised += 1
        reading.errors.append(EndpointError(source="cscript", message=stripped, code=find_hresult(stripped)))
        return True
    return False


def _error(message: str, product: str | None) -> EndpointError:
    text = message.strip()
    if product:
        text = f"{product}: {text}"
    return EndpointError(source="slmgr", message=text, code=find_hresult(message))


def _activated_name(line: str) -> str | None:
    for prefix in _ACTIVATING:
        if line.startswith(prefix):
            rest = line[len(prefix) :].strip()
            return re.split(r"\s*\(", rest, maxsplit=1)[0].strip() or None
    return None


def _xpr_match(text: str) -> tuple[str | None, str, str] | None:
    """Return (product name or None, kind, text after the sentence) when ``text`` is an /xpr line."""
    stripped = text.strip()
    for sentence, kind in _XPR:
        index = stripped.find(sentence)
        if index < 0:
            continue
        before = stripped[:index].rstrip()
        after = stripped[index + len(sentence) :].strip()
        if kind in _XPR_WITHOUT_DATE and after.strip(".。 "):
            continue
        if not before:
            return None, kind, after
        if before.endswith((":", "：")):
            return before[:-1].strip(), kind, after
    return None


def _xpr_record(name: str, kind: str, rest: str) -> LicenseRecord:
    channel = {
        "volume": Channel.KMS_CLIENT,
        "avma": Channel.AVMA,
        "timebased": Channel.SUBSCRIPTION if "sub" in name.lower() else Channel.EVAL,
    }.get(kind) or channel_from_name(name) or Channel.UNKNOWN
    evaluation_end = parse_date(rest) if kind == "timebased" else None
    return LicenseRecord(
        application=classify_application(None, name),
        name=name,
        description="",
        channel=channel,
        partial_product_key=None,
        license_status=XPR_STATUS[kind],
        source=RecordSource.SLMGR,
        evaluation_end=evaluation_end,
    )


def _block_record(block: _Block) -> LicenseRecord | None:
    fields = block.fields
    if block.not_in_use:
        return None
    name = fields.get("name", "")
    description = fields.get("description", "")
    partial_key = fields.get("partial_product_key") or None
    if not (name or description or partial_key):
        return None

    application_id = fields.get("application_id") or None
    key_channel = fields.get("product_key_channel") or None
    application = classify_application(application_id, name, description)
    return LicenseRecord(
        application=application,
        name=name,
        description=description,
        channel=classify_channel(
            description=description,
            product_key_channel=key_channel,
            partial_product_key=partial_key,
            name=name,
            application=application,
        ),
        partial_product_key=partial_key,
        license_status=_status(fields.get("license_status")),
        source=RecordSource.SLMGR,
        license_status_reason=find_hresult(fields.get("notification_reason", "")),
        grace_minutes=_minutes(fields),
        kms_machine=_kms(fields),
        activation_id=fields.get("activation_id") or None,
        application_id=application_id,
        product_key_channel=key_channel,
    )


def _status(text: str | None) -> LicenseStatus | None:
    if not text:
        return None
    status = _STATUSES.get(text.strip().lower().rstrip("."))
    if status is None:
        logger.debug("unknown slmgr license status %r; left unset", text)
    return status


def _minutes(fields: dict[str, str]) -> int | None:
    for name in ("volume_expiration", "timebased_expiration", "avma_expiration", "time_remaining"):
        value = fields.get(name)
        if value:
            match = _FIRST_NUMBER.search(value)
            if match is not None:
                return int(match.group(0))
    return None


def _kms(fields: dict[str, str]) -> str | None:
    for name in ("kms_machine_registered", "kms_machine_dns"):
        value = fields.get(name, "").strip()
        if value and value.lower().rstrip(".") not in _NOT_AVAILABLE:
            return value
    return None
