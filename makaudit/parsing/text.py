"""Turn the bytes of a file from Windows into text, and keep full product keys out of it.

Key detection and masking live in :mod:`makaudit.productkey`; this module
re-exports them for the parsers.

Files arrive as UTF-8 (with or without BOM), UTF-16 LE with BOM (what ``>`` and
``Out-File`` write in Windows PowerShell 5.1), UTF-16 without BOM, the ANSI
code page (cp1252) or the console OEM code page that cscript uses when its
output is redirected (cp437, cp850, cp866, cp932, cp936, cp949).
"""

from __future__ import annotations

import codecs
import logging
import re

from makaudit.parsing.slmgr_labels import LANGUAGES
from makaudit.productkey import find_full_keys, is_masked, mask_full_keys

__all__ = [
    "LEGACY_CODE_PAGES",
    "decode_text",
    "find_full_keys",
    "find_hresult",
    "format_hresult",
    "is_masked",
    "mask_full_keys",
]

logger = logging.getLogger(__name__)

# Tried in this order when the bytes are neither UTF-8 nor UTF-16; a later
# code page wins only when it decodes more known slmgr strings.
LEGACY_CODE_PAGES: tuple[str, ...] = ("cp1252", "cp866", "cp936", "cp949", "cp932", "cp850", "cp437")


def _marker_strings() -> tuple[str, ...]:
    markers: set[str] = set()
    for language in LANGUAGES:
        for texts in language.labels.values():
            markers.update(texts)
        markers.update(language.statuses)
        markers.update(language.banner_markers)
        for texts in language.sentences.values():
            markers.update(texts)
    # ASCII-only markers look the same in every code page and cannot tell them apart.
    return tuple(sorted(marker for marker in markers if not marker.isascii()))


_NON_ASCII_MARKERS = _marker_strings()


def decode_text(data: bytes) -> str:
    """Decode the bytes of a capture or endpoint document and normalise line ends to ``\\n``.

    Never raises: bytes that are neither UTF-8 nor UTF-16 are decoded with the
    legacy code page that yields the most known slmgr strings, and cp437
    decodes every byte value.
    """
    text = _decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\x00", "")


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(codecs.BOM_UTF16_BE):
        return data[2:].decode("utf-16-be", errors="replace")

    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return data.decode(utf16, errors="replace")

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass

    return _decode_legacy(data)


def _utf16_without_bom(data: bytes) -> str | None:
    """Return the UTF-16 codec whose NUL pattern the bytes show (ASCII text has every other byte NUL)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None

    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > half * 0.4 and even_nuls < half * 0.1:
        return "utf-16-le"
    if even_nuls > half * 0.4 and odd_nuls < half * 0.1:
        return "utf-16-be"
    return None


def _decode_legacy(data: bytes) -> str:
    best_text: str | None = None
    best_score = -1
    for code_page in LEGACY_CODE_PAGES:
        try:
            candidate = data.decode(code_page)
        except UnicodeDecodeError:
            continue
        score = sum(1 for marker in _NON_ASCII_MARKERS if marker in candidate)
        if score > best_score:
            best_text, best_score = candidate, score

    if best_text is None:
        return data.decode("cp1252", errors="replace")
    logger.debug("decoded legacy code page text with %d known non-ASCII strings", best_score)
    return best_text


_HRESULT = re.compile(r"0x[0-9A-Fa-f]{8}")


def find_hresult(text: str) -> str | None:
    """Return the first HRESULT in ``text`` as ``0xC004F074`` (upper-case digits), or None."""
    match = _HRESULT.search(text)
    if match is None:
        return None
    return "0x" + match.group(0)[2:].upper()


def format_hresult(value: object) -> str | None:
    """Format a decimal or hexadecimal HRESULT (``3221549076``, ``0xc004f014``) as ``0xC004F014``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            return find_hresult(text)
    if number < 0:
        number &= 0xFFFFFFFF
    if number > 0xFFFFFFFF:
        return None
    return f"0x{number:08X}"
