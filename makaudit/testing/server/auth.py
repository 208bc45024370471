"""Authentication of the emulated WinRM service: Basic, and NTLM through Negotiate with pyspnego.

pyspnego's NTLM acceptor reads its accounts from the file named by the
``NTLM_USER_FILE`` environment variable, one per process. ``NtlmUserFiles``
keeps that file as the union of the accounts of every running fleet, and each
fleet checks after authentication that the user is one of its own.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import tempfile
import threading
from dataclasses import dataclass

import spnego
import spnego.channel_bindings
import spnego.exceptions

logger = logging.getLogger(__name__)

NTLM_SIGNATURE = b"NTLMSSP\x00"


@dataclass(frozen=True)
class Account:
    """A local account of the emulated hosts."""

    domain: str
    username: str
    password: str

    def __post_init__(self) -> None:
        for name, value in (("domain", self.domain), ("username", self.username), ("password", self.password)):
            if ":" in value or "\n" in value or "\r" in value:
                raise ValueError(f"invalid account {name} {value!r}: it must not contain ':' or a line break")
        if not self.username:
            raise ValueError("invalid account: the username is empty")

    def __repr__(self) -> str:
        return f"Account(domain={self.domain!r}, username={self.username!r}, password=***)"

    def matches(self, principal: str) -> bool:
        """Return True for ``user``, ``DOMAIN\\user``, ``.\\user`` or ``user@domain`` naming this account."""
        domain, user = split_principal(principal)
        if user.lower() != self.username.lower():
            return False
        return domain is None or domain in (".", "") or domain.lower() == self.domain.lower()

    def user_file_lines(self) -> list[str]:
        """Return the ``DOMAIN:USER:PASSWORD`` lines for pyspnego, with and without the domain."""
        lines = [f":{self.username}:{self.password}"]
        if self.domain:
            lines.insert(0, f"{self.domain}:{self.username}:{self.password}")
        return lines


def split_principal(principal: str) -> tuple[str | None, str]:
    """Split ``DOMAIN\\user`` or ``user@domain`` into the domain (None when absent) and the user."""
    if "\\" in principal:
        domain, user = principal.split("\\", 1)
        return domain, user
    if "@" in principal:
        user, domain = principal.split("@", 1)
        return domain, user
    return None, principal


def find_account(accounts: list[Account], principal: str) -> Account | None:
    return next((account for account in accounts if account.matches(principal)), None)


def check_basic(header_value: str, accounts: list[Account]) -> Account | None:
    """Return the account a ``Basic`` Authorization value proves, or None."""
    try:
        decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    principal, separator, password = decoded.partition(":")
    if not separator:
        return None
    account = find_account(accounts, principal)
    if account is None or account.password != password:
        return None
    return account


def write_users_file(path: str, accounts: list[Account]) -> None:
    """Write ``accounts`` in the ``DOMAIN:USER:PASSWORD`` format pyspnego reads, readable by the owner only."""
    lines = [line for account in accounts for line in account.user_file_lines()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def read_users_file(path: str) -> list[Account]:
    """Read a ``DOMAIN:USER:PASSWORD`` file; raise ValueError naming the first invalid line."""
    accounts: list[Account] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            parts = text.split(":")
            if len(parts) != 3 or not parts[1]:
                raise ValueError(f"{path}, line {number}: expected DOMAIN:USER:PASSWORD (the domain may be empty)")
            accounts.append(Account(parts[0], parts[1], parts[2]))
    if not accounts:
        raise ValueError(f"{path}: no account found; add DOMAIN:USER:PASSWORD lines")
    return accounts


class NtlmUserFiles:
    """The process-wide ``NTLM_USER_FILE``: the union of the accounts of the fleets that run."""

    _lock = threading.Lock()
    _registered: dict[int, list[Account]] = {}
    _path: str | None = None
    _previous: str | None = None

    @classmethod
    def register(cls, owner: object, accounts: list[Account]) -> None:
        with cls._lock:
            if not cls._registered:
                cls._previous = os.environ.get("NTLM_USER_FILE")
                descriptor, cls._path = tempfile.mkstemp(prefix="makaudit-ntlm-users-", suffix=".txt")
                os.close(descriptor)
            cls._registered[id(owner)] = list(accounts)
            cls._rewrite()

    @classmethod
    def unregister(cls, owner: object) -> None:
        with cls._lock:
            cls._registered.pop(id(owner), None)
            if cls._registered:
                cls._rewrite()
                return
            if cls._path is not None:
                os.unlink(cls._path)
                cls._path = None
            if cls._previous is None:
                os.environ.pop("NTLM_USER_FILE", None)
            else:
                os.environ["NTLM_USER_FILE"] = cls._previous

    @classmethod
    def _rewrite(cls) -> None:
        assert cls._path is not None
        merged = [account for accounts in cls._registered.values() for account in accounts]
        write_users_file(cls._path, merged)
        os.environ["NTLM_USER_FILE"] = cls._path


class NegotiateAcceptor:
    """The NTLM security context of one TCP connection (raw NTLM or SPNEGO tokens)."""

    def __init__(self, channel_bindings: spnego.channel_bindings.GssChannelBindings | None) -> None:
        self._channel_bindings = channel_bindings
        self._context: spnego.ContextProxy | None = None

    @property
    def complete(self) -> bool:
        return self._context is not None and self._context.complete

    @property
    def principal(self) -> str | None:
        return self._context.client_principal if self.complete and self._context is not None else None

    def step(self, token: bytes) -> bytes | None:
        """Process one client token and return the reply token; raise AuthenticationFailed when rejected."""
        if token.startswith(NTLM_SIGNATURE + b"\x01") or self._context is None:
            protocol = "ntlm" if token.startswith(NTLM_SIGNATURE) else "negotiate"
            self._context = spnego.server(protocol=protocol, channel_bindings=self._channel_bindings)
        try:
            return self._context.step(token)
        except (spnego.exceptions.SpnegoError, ValueError, KeyError) as error:
            self._context = None
            raise AuthenticationFailed(str(error)) from error

    def wrap(self, data: bytes) -> tuple[bytes, bytes]:
        """Seal ``data``; return the signature header and the sealed bytes."""
        assert self._context is not None
        result = self._context.wrap_winrm(data)
        return result.header, result.data

    def unwrap(self, header: bytes, data: bytes) -> bytes:
        assert self._context is not None
        return self._context.unwrap_winrm(header, data)


class AuthenticationFailed(Exception):
    """An NTLM token the acceptor rejected (wrong password, unknown user, bad channel binding)."""
