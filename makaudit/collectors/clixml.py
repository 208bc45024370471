"""Decoding of the CLIXML that powershell.exe writes on stderr when its output is redirected.

Over a WinRM cmd shell, PowerShell serialises its error, warning and progress
streams as ``#< CLIXML`` followed by an ``<Objs>`` document. Error text sits in
``<S S="Error">`` elements with control characters escaped as ``_xHHHH_``;
progress records are ``<Obj S="progress">`` and carry nothing a user needs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

CLIXML_HEADER = "#< CLIXML"

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_MESSAGE_STREAMS = ("error", "warning")


def decode_stderr(text: str) -> str:
    """Return the error and warning text of ``text`` if it is CLIXML, else ``text`` stripped.

    Progress records and other streams are dropped, so stderr holding only
    progress decodes to an empty string. Text that claims to be CLIXML but is
    not valid XML is returned stripped, without the header line.
    """
    stripped = text.strip()
    if not stripped.startswith(CLIXML_HEADER):
        return stripped

    messages = []
    for document in _documents(stripped):
        try:
            root = ET.fromstring(document)
        except ET.ParseError:
            messages.append(document.strip())
            continue
        messages.extend(_stream_messages(root))
    return "\n".join(message for message in messages if message).strip()


def _documents(text: str) -> list[str]:
    """Split text that may hold several ``#< CLIXML`` blocks into their XML documents."""
    parts = text.split(CLIXML_HEADER)
    return [part.strip() for part in parts if part.strip()]


def _stream_messages(root: ET.Element) -> list[str]:
    lines: list[str] = []
    for element in root:
        if _local_name(element.tag) != "S":
            continue
        if (element.get("S") or "").lower() not in _MESSAGE_STREAMS:
            continue
        lines.append(_unescape(element.text or ""))

    # Error records arrive split across several <S> elements, each ending with an escaped newline.
    text = "".join(lines)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
