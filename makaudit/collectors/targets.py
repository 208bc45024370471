"""Scan targets: ``NAME``, ``ADDRESS``, ``NAME:PORT``, ``[IPv6]:PORT`` or a bare IPv6 literal."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from makaudit.errors import UsageError

# RFC 1123 host name: labels of letters, digits and hyphens, no leading or trailing hyphen.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.?$")
_MAX_HOST_NAME = 253


@dataclass(frozen=True)
class Target:
    """One endpoint to collect: a host name or IP address, and a port (None: the transport default)."""

    host: str
    port: int | None = None

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.host

    @property
    def url_host(self) -> str:
        """The host as it goes into a URL, with brackets around an IPv6 literal."""
        return f"[{self.host}]" if self.is_ipv6 else self.host

    def __str__(self) -> str:
        if self.port is None:
            return self.host
        return f"{self.url_host}:{self.port}"

    @property
    def key(self) -> str:
        """Case-insensitive identity used to drop duplicate targets."""
        return str(self).lower()


def parse_target(text: str) -> Target:
    """Parse one target; raises UsageError naming the text and the accepted forms."""
    value = text.strip()
    if not value:
        raise UsageError("empty target: expected NAME, ADDRESS, NAME:PORT or [IPv6]:PORT")
    if "://" in value or "/" in value:
        raise UsageError(f"invalid target {value!r}: give the host and port only (NAME:PORT), not a URL or path; --https selects HTTPS")

    if value.startswith("["):
        return _parse_bracketed(value)
    if value.count(":") > 1:
        return Target(_parse_ipv6(value, value))

    host, port = value, None
    if ":" in value:
        host, port_text = value.split(":", 1)
        port = _parse_port(port_text, value)
    return Target(_check_host(host, value), port)


def read_targets(args: Iterable[str] | None = (), file: str | Path | None = None) -> list[Target]:
    """Collect targets from the command line and a targets file, in order, without duplicates.

    The file contains one target per line; ``#`` starts a comment and blank lines
    are skipped. Duplicates are dropped case-insensitively, keeping the first.
    """
    targets: list[Target] = []
    for text in args or ():
        targets.append(parse_target(text))

    if file is not None:
        targets.extend(_read_target_file(Path(file)))

    return _drop_duplicates(targets)


def _read_target_file(path: Path) -> list[Target]:
    """Read a targets file as Windows tools write it (UTF-8 with or without BOM, UTF-16 from PowerShell 5.1's
    ``>``), reporting every invalid line at once."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"targets file not found: {path}") from None
    except OSError as error:
        raise UsageError(f"cannot read targets file {path}: {error.strerror or error}") from None
    content = _decode_targets(path, data)

    targets = []
    problems = []
    for number, line in enumerate(content.splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            targets.append(parse_target(text))
        except UsageError as error:
            problems.append(f"  line {number}: {error}")
    if problems:
        raise UsageError(f"{path}: {len(problems)} invalid line(s); fix or comment them out with #\n" + "\n".join(problems))
    return targets


def _decode_targets(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"cannot read targets file {path}: it is neither UTF-8 nor UTF-16 text; save it as UTF-8") from None


def _drop_duplicates(targets: list[Target]) -> list[Target]:
    seen: set[str] = set()
    unique = []
    for target in targets:
        if target.key in seen:
            continue
        seen.add(target.key)
        unique.append(target)
    return unique


def _parse_bracketed(value: str) -> Target:
    closing = value.find("]")
    if closing < 0:
        raise UsageError(f"invalid target {value!r}: missing ']' after the IPv6 address")

    host = _parse_ipv6(value[1:closing], value)
    rest = value[closing + 1 :]
    if not rest:
        return Target(host)
    if not rest.startswith(":"):
        raise UsageError(f"invalid target {value!r}: expected ':PORT' after ']'")
    return Target(host, _parse_port(rest[1:], value))


def _parse_ipv6(text: str, original: str) -> str:
    try:
        return ipaddress.IPv6Address(text).compressed
    except ipaddress.AddressValueError:
        raise UsageError(
            f"invalid target {original!r}: not an IPv6 address; write an IPv6 address with a port as [ADDRESS]:PORT"
        ) from None


def _parse_port(text: str, original: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"invalid port in target {original!r}: expected a number from 1 to 65535")
    return int(text)


def _check_host(host: str, original: str) -> str:
    if len(host) > _MAX_HOST_NAME or not _HOST_NAME.match(host):
        raise UsageError(
            f"invalid target {original!r}: expected a host name (letters, digits, '-' and '.') or an IP address"
        )
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ipaddress.AddressValueError:
            raise UsageError(f"invalid target {original!r}: not a valid IPv4 address") from None
    return host
