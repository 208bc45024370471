"""Audit configuration: thresholds, approved KMS hosts, exit policy and suppressions, read from TOML.

Every option lives in a section. Unknown sections, unknown keys, wrong types and
out-of-range values raise :class:`~makaudit.errors.UsageError` naming the key,
the value and the fix. Some keys are settings of command-line options
(``[inventory] path``, ``[scan] workers``...): this module only checks their
type, and the command-line layer converts them. A new key is added by
declaring it in ``_SECTIONS`` (with the matching field on :class:`AuditConfig`
when the analysis reads it).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from makaudit.analysis.kms import parse_kms_address
from makaudit.errors import UsageError
from makaudit.model import Severity

logger = logging.getLogger(__name__)

SUPPRESSIBLE_CODES = (
    "MAK_OVERUSE",
    "MAK_NEAR_LIMIT",
    "MAK_UNKNOWN_KEY",
    "MAK_REVOKED_KEY_IN_USE",
    "MAK_RETIRED_KEY_IN_USE",
    "MAK_ROTATION_DUE",
    "LICENSE_SHORTFALL",
    "HOST_NOT_ACTIVATED",
    "HOST_GRACE_ENDING",
    "HOST_NO_PRODUCT_KEY",
    "KMS_UNAPPROVED_HOST",
    "HOST_UNREACHABLE",
    "HOST_STALE",
)
"""Every finding code the analysis emits, so that a suppression can be checked for typos."""


@dataclass(frozen=True)
class Suppression:
    """An accepted finding: its code, and optionally the host or the key it is limited to.

    A suppressed finding stays in the report, marked as suppressed, and no longer
    counts for ``fail_on``. ``host`` matches the host a finding names (its computer
    name, else its target), ``key`` the inventory key id or the partial product key,
    both case-insensitively.
    """

    code: str
    host: str | None = None
    key: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AuditConfig:
    """Settings of the analysis, with the defaults used when no configuration file is given."""

    near_limit_threshold: float = 0.9
    """MAK utilization (activated / allotment) at which MAK_NEAR_LIMIT fires, in (0, 1]."""
    grace_warning_days: int = 7
    """HOST_GRACE_ENDING fires when less than this many days of grace or KMS activation remain."""
    stale_days: int = 14
    """HOST_STALE fires when a host's latest state is older than this many days."""
    rotation_max_age_days: int | None = None
    """MAK_ROTATION_DUE (low) fires for an active key acquired longer ago than this; None disables it."""
    approved_kms_hosts: tuple[str, ...] = ()
    """KMS hosts clients may use, as ``host`` or ``host:port``; compared case-insensitively."""
    fail_on: Severity | None = None
    """Exit status 1 when a finding is at or above this severity; None never fails on findings."""
    suppressions: tuple[Suppression, ...] = ()


@dataclass(frozen=True)
class _Option:
    """One ``key = value`` of a section: how to check or convert the TOML value, and the AuditConfig field it sets.

    ``field`` is None for a command-line option's setting, which is only type-checked here.
    """

    convert: Callable[[Any, str, Path], Any]
    field: str | None = None


def load_config(path: Path | None) -> AuditConfig:
    """Read the TOML configuration at ``path``; None returns the defaults.

    Raises UsageError when the file is missing, is not valid TOML, or contains an
    unknown section or key, a value of the wrong type, or a value out of range.
    """
    if path is None:
        return AuditConfig()

    document = _read_toml(path)
    values: dict[str, Any] = {}
    problems: list[str] = []

    for section_name, section in document.items():
        if not isinstance(section, dict):
            problems.append(f"{section_name!r} is outside any section; {_placement_hint(section_name)}")
            continue
        options = _SECTIONS.get(section_name)
        if options is None:
            problems.append(
                f"unknown section [{section_name}]; the valid sections are {_names(_SECTIONS)}. "
                "Check the spelling or remove the section."
            )
            continue

        for key, raw in section.items():
            option = options.get(key)
            if option is None:
                problems.append(
                    f"unknown key {key!r} in [{section_name}]; the valid keys are {_names(options)}. "
                    "Check the spelling or remove the key."
                )
                continue
            try:
                value = option.convert(raw, f"{section_name}.{key}", path)
            except UsageError as error:
                problems.append(str(error).removeprefix(f"{path}: "))
                continue
            if option.field is not None:
                values[option.field] = value

    if len(problems) == 1:
        raise UsageError(f"{path}: {problems[0]}")
    if problems:
        raise UsageError(f"{path}: {len(problems)} problems in the configuration:\n" + "\n".join(f"  {problem}" for problem in problems))

    config = AuditConfig(**values)
    logger.debug("loaded configuration from %s: %s", path, config)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        raise UsageError(f"configuration file {path} not found; check the path or omit the option.") from None
    except OSError as error:
        raise UsageError(f"cannot read configuration file {path}: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: invalid TOML: {error}. Fix the syntax (see config.example.toml).") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the file is not UTF-8 text; save it as UTF-8.") from None


def _placement_hint(key: str) -> str:
    sections = [name for name, options in _SECTIONS.items() if key in options]
    if sections:
        return f"move it under a [{sections[0]}] header."
    return f"put each key under one of the sections {_names(_SECTIONS)}."


def _names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(sorted(mapping))


def _invalid(path: Path, name: str, value: Any, expected: str) -> UsageError:
    return UsageError(f"{path}: invalid value {value!r} for {name}; expected {expected}.")


# Converters: each takes the TOML value, the dotted key name and the file path, and
# returns the field value or raises UsageError. bool is excluded from integers and
# numbers on purpose, because TOML ``true`` would otherwise pass as 1.


def _fraction(value: Any, name: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(path, name, value, "a number greater than 0 and at most 1, such as 0.9")
    if not 0 < value <= 1:
        raise _invalid(path, name, value, "a number greater than 0 and at most 1, such as 0.9")
    return float(value)


def _days(minimum: int) -> Callable[[Any, str, Path], int]:
    def convert(value: Any, name: str, path: Path) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _invalid(path, name, value, f"a whole number of days, at least {minimum}")
        return value

    return convert


def _optional_days(value: Any, name: str, path: Path) -> int | None:
    if value == 0 and not isinstance(value, bool):
        return None
    return _days(1)(value, name, path)


def _host_list(value: Any, name: str, path: Path) -> tuple[str, ...]:
    expected = 'a list of host names or addresses, such as ["kms01.corp.example:1688"]'
    if not isinstance(value, list):
        raise _invalid(path, name, value, expected)

    hosts = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _invalid(path, name, item, expected)
        try:
            parse_kms_address(item)
        except ValueError as error:
            raise UsageError(f"{path}: {name}: {error}; write host, host:port or [IPv6 address]:port.") from None
        hosts.append(item.strip())
    return tuple(hosts)


def _severity(value: Any, name: str, path: Path) -> Severity:
    expected = "one of " + ", ".join(repr(severity.value) for severity in Severity)
    if not isinstance(value, str):
        raise _invalid(path, name, value, expected)
    try:
        return Severity(value.strip().lower())
    except ValueError:
        raise _invalid(path, name, value, expected) from None


def _text(value: Any, name: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(path, name, value, "a non-empty string in quotes")
    return value


def _flag(value: Any, name: str, path: Path) -> bool:
    if not isinstance(value, bool):
        raise _invalid(path, name, value, "true or false")
    return value


def _whole_number(value: Any, name: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(path, name, value, "a whole number, at least 1")
    return value


def _seconds(value: Any, name: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _invalid(path, name, value, "a number of seconds greater than 0")
    return float(value)


def _suppressions(value: Any, name: str, path: Path) -> tuple[Suppression, ...]:
    expected = 'a list of tables such as { code = "HOST_STALE", host = "PC-0042", reason = "in storage" }'
    if not isinstance(value, list):
        raise _invalid(path, name, value, expected)
    return tuple(_suppression(item, f"{name}[{index}]", path, expected) for index, item in enumerate(value))


def _suppression(item: Any, name: str, path: Path, expected: str) -> Suppression:
    if not isinstance(item, dict):
        raise _invalid(path, name, item, expected)

    unknown = sorted(set(item) - {"code", "host", "key", "reason"})
    if unknown:
        raise UsageError(
            f"{path}: unknown key {unknown[0]!r} in {name}; a suppression takes code, host, key and reason."
        )

    for text_key in ("code", "host", "key", "reason"):
        text = item.get(text_key)
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise _invalid(path, f"{name}.{text_key}", text, "a non-empty string")

    code = item.get("code")
    if code is None:
        raise UsageError(f"{path}: {name} has no code; add code = \"<FINDING_CODE>\" to the suppression.")
    code = code.strip().upper()
    if code not in SUPPRESSIBLE_CODES:
        raise _invalid(path, f"{name}.code", item["code"], "one of " + ", ".join(SUPPRESSIBLE_CODES))

    def optional(text_key: str) -> str | None:
        text = item.get(text_key)
        return None if text is None else text.strip()

    return Suppression(code=code, host=optional("host"), key=optional("key"), reason=optional("reason"))


_SECTIONS: dict[str, dict[str, _Option]] = {
    "thresholds": {
        "near_limit": _Option(_fraction, "near_limit_threshold"),
        "grace_warning_days": _Option(_days(0), "grace_warning_days"),
        "stale_days": _Option(_days(1), "stale_days"),
        "rotation_max_age_days": _Option(_optional_days, "rotation_max_age_days"),
        "fail_on": _Option(_severity, "fail_on"),
    },
    "kms": {
        "approved_hosts": _Option(_host_list, "approved_kms_hosts"),
    },
    "findings": {
        "suppress": _Option(_suppressions, "suppressions"),
    },
    "inventory": {
        "path": _Option(_text),
    },
    "history": {
        "db": _Option(_text),
    },
    "reports": {
        "xlsx": _Option(_text),
        "html": _Option(_text),
    },
    "logging": {
        "level": _Option(_text),
        "file": _Option(_text),
    },
    "scan": {
        "targets": _Option(_text),
        "transport": _Option(_text),
        "auth": _Option(_text),
        "https": _Option(_flag),
        "port": _Option(_whole_number),
        "ca_bundle": _Option(_text),
        "no_verify_tls": _Option(_flag),
        "allow_unencrypted": _Option(_flag),
        "username": _Option(_text),
        "workers": _Option(_whole_number),
        "timeout": _Option(_seconds),
        "connect_timeout": _Option(_seconds),
        "no_slmgr": _Option(_flag),
    },
}
"""Valid sections and their keys. A field named here must exist on AuditConfig."""
