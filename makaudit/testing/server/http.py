"""HTTP/1.1 framing for the emulated WinRM listeners: read one request, write one response."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email.utils import formatdate

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
"""Larger than any WinRM message (Windows' MaxEnvelopeSizekb defaults to 500 KB)."""

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


class HttpError(Exception):
    """A request that cannot be read; ``status`` is the HTTP status sent before closing."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass
class HttpRequest:
    method: str
    path: str
    version: str
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        """Return the header's values joined with ``, `` (empty when absent); ``name`` is case-insensitive."""
        return ", ".join(self.headers.get(name.lower(), []))

    @property
    def keep_alive(self) -> bool:
        connection = self.header("connection").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def encode(self, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}"]
        lines.append("Server: Microsoft-HTTPAPI/2.0")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        if self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        lines.append(f"Content-Length: {len(self.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; return None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise HttpError(400, "the connection closed in the middle of the request headers") from error
    except asyncio.LimitOverrunError as error:
        raise HttpError(400, f"the request headers exceed {MAX_HEADER_BYTES} bytes") from error

    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"invalid request line {lines[0][:80]!r}")
    method, path, version = parts

    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, separator, value = line.partition(":")
        if not separator:
            raise HttpError(400, f"invalid header line {line[:80]!r}")
        headers.setdefault(name.strip().lower(), []).append(value.strip())

    body = await _read_body(reader, headers)
    return HttpRequest(method, path, version, headers, body)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, list[str]]) -> bytes:
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        return await _read_chunked(reader)

    length_values = headers.get("content-length")
    if not length_values:
        return b""
    try:
        length = int(length_values[0])
    except ValueError as error:
        raise HttpError(400, f"invalid Content-Length {length_values[0]!r}") from error
    if length < 0 or length > MAX_BODY_BYTES:
        raise HttpError(413, f"Content-Length {length} is outside 0 to {MAX_BODY_BYTES}")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as error:
        raise HttpError(400, f"the body ended after {len(error.partial)} of {length} bytes") from error


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readline()
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError as error:
            raise HttpError(400, f"invalid chunk size line {size_line[:40]!r}") from error
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise HttpError(413, f"the chunked body exceeds {MAX_BODY_BYTES} bytes")
        body += await reader.readexactly(size)
        await reader.readexactly(2)
