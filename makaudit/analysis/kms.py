"""KMS host addresses: parse ``host``, ``host:port``, ``[v6]:port``, and match them against the approved list."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

DEFAULT_KMS_PORT = 1688
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


@dataclass(frozen=True)
class KmsAddress:
    """A KMS host as written by a client or in the configuration: host name or address, and port when given."""

    host: str
    """Lower case, without a trailing dot or IPv6 brackets."""
    port: int | None = None

    @property
    def is_loopback(self) -> bool:
        """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the localhost names."""
        if self.host in _LOOPBACK_NAMES:
            return True
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback


def parse_kms_address(text: str) -> KmsAddress:
    """Split ``text`` into host and port; raise ValueError when it is empty or the port is not a number.

    A bare IPv6 address (more than one colon, no brackets) has no port.
    """
    text = text.strip()
    host, port_text = text, None

    if text.startswith("["):
        closing = text.find("]")
        if closing < 0:
            raise ValueError(f"invalid KMS host {text!r}: '[' without ']'")
        host = text[1:closing]
        rest = text[closing + 1 :]
        if rest.startswith(":"):
            port_text = rest[1:]
        elif rest:
            raise ValueError(f"invalid KMS host {text!r}: unexpected text after ']'")
    elif text.count(":") == 1:
        host, port_text = text.split(":")

    host = host.strip().rstrip(".").lower()
    if not host:
        raise ValueError(f"invalid KMS host {text!r}: no host name")

    port = None
    if port_text is not None:
        if not port_text.strip().isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"invalid KMS host {text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return KmsAddress(host, port)


class ApprovedKmsHosts:
    """The approved KMS hosts. An entry without a port approves the host on any port.

    A client address without a port is taken as port 1688, the KMS default.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self._any_port: set[str] = set()
        self._with_port: set[tuple[str, int]] = set()
        for entry in entries:
            address = parse_kms_address(entry)
            if address.port is None:
                self._any_port.add(address.host)
            else:
                self._with_port.add((address.host, address.port))

    def __bool__(self) -> bool:
        return bool(self._any_port or self._with_port)

    def approves(self, address: KmsAddress) -> bool:
        if address.host in self._any_port:
            return True
        port = DEFAULT_KMS_PORT if address.port is None else address.port
        return (address.host, port) in self._with_port
