"""WinRM message encryption over HTTP (MS-WSMV 2.2.9.1.1): the ``multipart/encrypted`` framing.

Each part is two MIME sections separated by ``--Encrypted Boundary``: the first
names the protocol and the plaintext length (``Length=``), the second contains a
4-byte little-endian signature length, the signature and the sealed SOAP message.
"""

from __future__ import annotations

import re
import struct
from typing import Protocol

PROTOCOL_SPNEGO = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL_SPNEGO}";boundary="Encrypted Boundary"'

_PART_SPLIT = re.compile(rb"--\s*Encrypted Boundary\r\n")
_LENGTH = re.compile(rb"Length=(\d+)")


class SealingContext(Protocol):
    def wrap(self, data: bytes) -> tuple[bytes, bytes]: ...

    def unwrap(self, header: bytes, data: bytes) -> bytes: ...


class EncryptionError(ValueError):
    """An encrypted body that cannot be unframed or unsealed."""


def is_encrypted(content_type: str) -> bool:
    lowered = content_type.lower()
    return lowered.startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def unwrap_body(body: bytes, context: SealingContext) -> bytes:
    """Return the SOAP message of an encrypted request body; raise EncryptionError when invalid."""
    if body.endswith(BOUNDARY + b"--\r\n"):
        body = body[: -len(BOUNDARY + b"--\r\n")]
    parts = [part for part in _PART_SPLIT.split(body) if part]
    if not parts or len(parts) % 2:
        raise EncryptionError(f"the encrypted body has {len(parts)} MIME sections; expected pairs of header and data")

    message = b""
    for index in range(0, len(parts), 2):
        header, payload = parts[index], parts[index + 1]
        length = _LENGTH.search(header)
        if length is None:
            raise EncryptionError("an encrypted part has no OriginalContent Length")

        data = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        if len(data) < 4:
            raise EncryptionError("an encrypted part is shorter than its signature length field")
        (signature_length,) = struct.unpack("<i", data[:4])
        if signature_length < 0 or 4 + signature_length > len(data):
            raise EncryptionError(f"invalid signature length {signature_length} in an encrypted part")
        signature = data[4 : 4 + signature_length]
        sealed = data[4 + signature_length :]

        try:
            plain = context.unwrap(signature, sealed)
        except Exception as error:  # pyspnego raises several unrelated types for a bad seal
            raise EncryptionError(f"the encrypted part could not be unsealed: {error}") from error
        if len(plain) != int(length.group(1)):
            raise EncryptionError(f"the unsealed part has {len(plain)} bytes, its header announced {length.group(1)}")
        message += plain
    return message


def wrap_body(message: bytes, context: SealingContext) -> bytes:
    """Return ``message`` sealed and framed as a ``multipart/encrypted`` body."""
    signature, sealed = context.wrap(message)
    return (
        BOUNDARY + b"\r\n"
        b"\tContent-Type: " + PROTOCOL_SPNEGO.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(message)).encode() + b"\r\n"
        + BOUNDARY + b"\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<i", len(signature)) + signature + sealed
        + BOUNDARY + b"--\r\n"
    )
