"""The collection script (collect.ps1): loading, minifying, and the command lines that run it."""

from __future__ import annotations

import base64
import functools
import importlib.resources
from dataclasses import dataclass

NO_SLMGR_MARKER = "makaudit:no-slmgr"
"""Comment placed in the script when slmgr is disabled (the test fleet keys on it)."""

CMD_LINE_LIMIT = 8191
"""Maximum length of a command line in cmd.exe, which runs the command of a WinRM cmd shell."""

POWERSHELL = "powershell.exe -NoProfile -NonInteractive"

_SLMGR_ON = "$slmgr=$true"
_SLMGR_OFF = f"$slmgr=$false # {NO_SLMGR_MARKER}"
# Spaces next to these characters carry no meaning in PowerShell outside quotes. A space
# before "{" stays: after a quoted argument it separates the script block from the string.
_TIGHT = set("=,;{}|")
_TIGHT_BEFORE = _TIGHT - {"{"}
_OPENERS = {"{": "}", "(": ")", "[": "]"}
_CLOSERS = set(_OPENERS.values())


@dataclass(frozen=True)
class CollectionScript:
    """The minified script text for one setting of the slmgr option."""

    text: str

    @property
    def encoded_command(self) -> str:
        """The cmd command line running the script with ``-EncodedCommand`` (base64 of UTF-16LE)."""
        encoded = base64.b64encode(self.text.encode("utf-16-le")).decode("ascii")
        return f"{POWERSHELL} -EncodedCommand {encoded}"

    @property
    def fits_command_line(self) -> bool:
        return len(self.encoded_command) <= CMD_LINE_LIMIT

    @property
    def stdin_command(self) -> str:
        """The command that reads the script from standard input instead."""
        return f"{POWERSHELL} -Command -"

    @property
    def stdin_text(self) -> str:
        """The script as PowerShell reads it from stdin.

        With ``-Command -`` PowerShell runs what it has read once a statement is
        complete and an empty line follows, so every top-level statement ends
        with an empty line.

        NOTE: this form is checked against the emulated fleet only, not yet
        against powershell.exe on Windows.
        """
        lines = []
        for line, depth in _lines_with_depth(self.text):
            lines.append(line)
            if depth == 0:
                lines.append("")
        lines.append("")
        return "\r\n".join(lines)


@functools.cache
def collection_script(*, slmgr: bool = True) -> CollectionScript:
    """Return the minified collection script, with slmgr evidence on or off."""
    source = importlib.resources.files("makaudit.collectors").joinpath("collect.ps1").read_text(encoding="utf-8")
    text = minify(source)

    if _SLMGR_ON not in text:
        raise RuntimeError(f"collect.ps1 lacks the line {_SLMGR_ON!r} that switches slmgr collection")
    if not slmgr:
        text = text.replace(_SLMGR_ON, _SLMGR_OFF, 1)
    return CollectionScript(text)


def minify(source: str) -> str:
    """Drop comment lines, blank lines, indentation and spaces around ``= , ; { } |``.

    The statements stay on their lines. Quoted text is kept as it is.

    Raises ValueError on text outside ASCII, because pywinrm sends stdin in code page 437.
    """
    if not source.isascii():
        raise ValueError("collect.ps1 must be ASCII: stdin is sent in code page 437")

    kept = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            kept.append(_squeeze(stripped))
    return "\n".join(kept)


def _squeeze(line: str) -> str:
    """Remove the spaces next to the characters of ``_TIGHT``, outside quotes."""
    out: list[str] = []
    quote: str | None = None
    for char in line:
        if quote:
            out.append(char)
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char == " " and out and out[-1] in _TIGHT:
            continue
        elif char in _TIGHT_BEFORE:
            while out and out[-1] == " ":
                out.pop()
        out.append(char)
    return "".join(out)


def _lines_with_depth(text: str) -> list[tuple[str, int]]:
    """Pair each line with the bracket depth at its end, ignoring brackets inside quotes."""
    depth = 0
    quote: str | None = None
    result = []
    for line in text.split("\n"):
        for char in line:
            if quote:
                if char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char == "#":
                break
            elif char in _OPENERS:
                depth += 1
            elif char in _CLOSERS:
                depth -= 1
        result.append((line, depth))
    return result
