"""Read single values as Windows tools print them: dates, counts and KMS host names.

Dates come in many forms: ISO 8601 (the endpoint document), ``\\/Date(ms)\\/``
and the ``{"value": ..., "DateTime": ...}`` wrapper of Windows PowerShell 5.1
``ConvertTo-Json``, WMI CIM_DATETIME strings (``20261204194000.000000+000``),
and local-format strings from ``Get-CimInstance`` list views. WMI's
1601-01-01 means "not set"; converted to a western local time it prints as
12/31/1600, so any date before 1601-01-02 is "not set" and becomes None.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

logger = logging.getLogger(__name__)

UINT32_NOT_SET = 4294967295
"""Value WMI prints for a uint32 that does not apply (``RemainingSkuReArmCount`` on some SKUs)."""

_SENTINEL_LIMIT = datetime(1601, 1, 2, tzinfo=timezone.utc)
_MS_DATE = re.compile(r"^\\?/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)\\?/$")
_CIM_DATETIME = re.compile(
    r"^(?P<stamp>\d{14})\.(?P<fraction>\d{6})(?P<sign>[+-])(?P<minutes>\d{3})$"
)
_YEAR = re.compile(r"(?<!\d)(1[56]\d\d)(?!\d)")

# Local formats seen in captures; only those that cannot be read two ways.
_UNAMBIGUOUS_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
)
_SLASH_DATE = re.compile(
    r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>\d{4})(?:\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<ampm>[AaPp][Mm])?)?$"
)


def parse_date(value: Any) -> datetime | None:
    """Return ``value`` as an aware UTC datetime, or None when it is empty, "not set" or cannot be read.

    A local-format string is read only when its format is unambiguous (a
    ``3/4/2026`` could be March or April) and is then taken as UTC, because the
    list views do not say which time zone they were printed in.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Mapping):
        return _parse_wrapped(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return _unless_sentinel(moment.astimezone(timezone.utc))
    if isinstance(value, (int, float)):
        return None
    if not isinstance(value, str):
        return None

    text = value.strip()
    if not text:
        return None
    for reader in (_parse_ms_date, _parse_cim_datetime, _parse_iso, _parse_local):
        moment = reader(text)
        if moment is not None:
            return _unless_sentinel(moment)
    return None


def is_unset_date_text(value: Any) -> bool:
    """Tell whether a printed date is WMI's "not set" value in any local form (year 1600 or 1601)."""
    if not isinstance(value, str):
        return False
    match = _YEAR.search(value)
    return match is not None and match.group(1) in ("1600", "1601")


def _unless_sentinel(moment: datetime) -> datetime | None:
    return None if moment < _SENTINEL_LIMIT else moment


def _parse_wrapped(value: Mapping[str, Any]) -> datetime | None:
    for key in ("value", "Value", "DateTime"):
        if key in value:
            moment = parse_date(value[key])
            if moment is not None:
                return moment
    return None


def _parse_ms_date(text: str) -> datetime | None:
    match = _MS_DATE.match(text)
    if match is None:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(match.group("ms")))
    except OverflowError:
        return None


def _parse_cim_datetime(text: str) -> datetime | None:
    match = _CIM_DATETIME.match(text)
    if match is None:
        return None
    try:
        local = datetime.strptime(match.group("stamp"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    offset = int(match.group("minutes")) * (1 if match.group("sign") == "+" else -1)
    try:
        return (local - timedelta(minutes=offset)).replace(tzinfo=timezone.utc)
    except OverflowError:
        return None


def _parse_iso(text: str) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        # DateTime.MaxValue or MinValue with a local offset (PowerShell 7 writes them) has no UTC form.
        return None


def _parse_local(text: str) -> datetime | None:
    if is_unset_date_text(text):
        return None
    for pattern in _UNAMBIGUOUS_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return _parse_slash_date(text)


def _parse_slash_date(text: str) -> datetime | None:
    match = _SLASH_DATE.match(text)
    if match is None:
        return None
    first, second = int(match.group("a")), int(match.group("b"))
    if first <= 12 and second <= 12 and first != second:
        logger.debug("date %r can be read as day/month or month/day; left unset", text)
        return None
    month, day = (first, second) if first <= 12 else (second, first)
    hour = minute = second_of_minute = 0
    if match.group("time"):
        parts = [int(part) for part in match.group("time").split(":")]
        hour, minute = parts[0], parts[1]
        second_of_minute = parts[2] if len(parts) > 2 else 0
        ampm = (match.group("ampm") or "").upper()
        if ampm == "PM" and hour < 12:
            hour += 12
        elif ampm == "AM" and hour == 12:
            hour = 0
    try:
        return datetime(int(match.group("year")), month, day, hour, minute, second_of_minute, tzinfo=timezone.utc)
    except ValueError:
        return None


def parse_int(value: Any) -> int | None:
    """Return ``value`` as an int, or None when it is empty, not a number, or WMI's uint32 "not set"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d{1,20}", text):
            return None
        number = int(text)
    else:
        return None
    if number == UINT32_NOT_SET:
        return None
    return number


def parse_bool(value: Any) -> bool | None:
    """Return ``value`` as a bool (``True``, ``1``, ``"True"``), or None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "enabled"):
            return True
        if text in ("false", "0", "no", "disabled"):
            return False
    return None


def text_or_none(value: Any) -> str | None:
    """Return ``value`` as stripped text, or None when it is empty or not a scalar."""
    if value is None or isinstance(value, (Mapping, list, tuple, bool)):
        return None
    text = str(value).strip()
    return text or None


def kms_machine(host: Any, port: Any = None) -> str | None:
    """Return a KMS host as ``host`` or ``host:port``; port 0 (WMI's "default 1688") is left out."""
    name = text_or_none(host)
    if name is None:
        return None
    number = parse_int(port)
    if number and ":" not in name:
        return f"{name}:{number}"
    return name
