"""Console text as cscript prints it: banner lines, prompts and lines wrapped at 80 columns."""

from __future__ import annotations

import re
from dataclasses import dataclass

from makaudit.parsing.slmgr_labels import LANGUAGES
from makaudit.parsing.text import mask_full_keys

CONSOLE_WIDTH = 80
"""Width of the classic Windows console, where slmgr and ospp output wraps mid-word."""

MAX_LINES = 200_000
"""Lines read from one capture; a licensing output has a few hundred at most."""

_PROMPT = re.compile(r"^\s*(?:PS )?[A-Za-z]:\\[^>]*>")
_BANNER_MARKERS = tuple(marker for language in LANGUAGES for marker in language.banner_markers) + (
    "Windows Script Host",
    "Copyright (C) Microsoft Corporation",
)


@dataclass(frozen=True)
class Line:
    """One line of a capture: its 1-based number in the file and its text without the line end."""

    number: int
    text: str

    @property
    def stripped(self) -> str:
        return self.text.strip()


def is_banner(text: str) -> bool:
    """Tell whether a line belongs to the Windows Script Host banner (in any known language)."""
    stripped = text.strip()
    if stripped == "Windows Script Host":
        return True
    return any(marker in stripped for marker in _BANNER_MARKERS)


def console_lines(text: str) -> tuple[list[Line], bool]:
    """Split a capture into lines, with full product keys masked and banners and prompts removed.

    Returns the lines and whether a Windows Script Host banner was seen.
    """
    masked = mask_full_keys(text)
    lines: list[Line] = []
    banner = False
    for number, raw in enumerate(masked.split("\n")[:MAX_LINES], start=1):
        if is_banner(raw):
            banner = True
            continue
        if _PROMPT.match(raw):
            continue
        lines.append(Line(number, raw))
    return lines, banner


def wrap_joiner(previous_raw_length: int) -> str | None:
    """Return what joins a line to the previous one if the previous line was wrapped by the console, else None.

    A line that fills all 80 columns continued on the next line mid-word. A line
    of 79 characters also did when the copy dropped the space in column 80.
    """
    if previous_raw_length >= CONSOLE_WIDTH:
        return ""
    if previous_raw_length == CONSOLE_WIDTH - 1:
        return " "
    return None
