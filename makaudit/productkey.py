"""Detect, mask and shorten product keys: the one place that decides what a full key looks like.

A full 25-character product key never leaves the endpoint and is never stored
or shown. Only its last five characters, the partial product key, are. Every
module that validates, rejects or masks keys calls this one, so a form that is
recognised here is recognised everywhere.

Two forms count as a full key, matched case-insensitively and bounded by
characters that are not ASCII letters or digits:

* five groups of five letters or digits separated by ``-``, an en dash, an em
  dash (Word autocorrect) or a single space. Any letter counts, because the
  5x5 shape is strong evidence on its own;
* 25 contiguous characters of the key alphabet with at least one letter and at
  least one digit. The strict alphabet keeps hashes and numeric identifiers out.

Some guards keep identifiers and text from matching. A grouped form needs at
least one letter, so numeric identifiers never match, and the space-separated
form also needs a digit, so five five-letter words of prose do not match.
Five groups whose first four include a group of mask characters only
(``XXXXX-XXXXX-XXXXX-XXXXX-J46MR``, as inventory agents pad a partial key, or
text masked before) are not a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEY_ALPHABET = "BCDFGHJKMNPQRTVWXY2346789"
"""Characters of a Windows 8 and later product key. ``N`` marks a position and may stand anywhere."""

PARTIAL_KEY_LENGTH = 5
FULL_KEY_LENGTH = 25
MASK_PREFIX = "XXXXX-XXXXX-XXXXX-XXXXX-"
"""Replacement for the first twenty characters of a full key in masked text."""

_MASK_CHARACTERS = frozenset("Xx*")
_GROUP_LENGTH = 5
_GROUP_STRIDE = _GROUP_LENGTH + 1
_GROUPS_PER_KEY = 5
_SEPARATOR = "[-\u2013\u2014 ]"
_GROUP = f"[A-Za-z0-9]{{{_GROUP_LENGTH}}}"
_KEY_CHARACTERS = frozenset(KEY_ALPHABET + KEY_ALPHABET.lower())
_KEY_CHARACTER = f"[{KEY_ALPHABET}{KEY_ALPHABET.lower()}]"

# A key may also start right after the escape of a line break or tab, so that
# keys in serialized text such as JSON (line\nNPPR9...) are found as well.
_START = r"(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))"
_END = r"(?![A-Za-z0-9])"

# A grouped candidate is a whole run of five or more groups, so that a
# five-character word next to a key ("Enter NPPR9 FWDCX ...") cannot hide it.
_CANDIDATE = re.compile(
    _START
    + rf"(?:(?P<grouped>(?:{_GROUP}{_SEPARATOR}){{{_GROUPS_PER_KEY - 1},}}{_GROUP})"
    + rf"|(?P<contiguous>{_KEY_CHARACTER}{{{FULL_KEY_LENGTH}}}))"
    + _END
)
_PARTIAL_KEY = re.compile(f"{_KEY_CHARACTER}{{{PARTIAL_KEY_LENGTH}}}")


def is_partial_key(text: str) -> bool:
    """Tell whether ``text`` is exactly five characters of the key alphabet, in any case.

    Surrounding spaces make it false: callers strip cells before asking.
    """
    return _PARTIAL_KEY.fullmatch(text) is not None


def is_masked(group: str) -> bool:
    """Tell whether a key group consists of mask characters only (``XXXXX``, ``*****``)."""
    return bool(group) and all(character in _MASK_CHARACTERS for character in group)


def find_full_keys(text: str) -> list[str]:
    """Return every full product key in ``text``, as written there.

    When a run of more than five groups leaves it open which five are the key,
    the returned string covers all of them. The returned strings contain full
    keys: never log, show or store them.
    """
    return [text[start:end] for start, end in _key_spans(text)]


def contains_full_key(text: str) -> bool:
    """Tell whether ``text`` contains a full product key in any of the detected forms."""
    return bool(_key_spans(text))


def mask_full_keys(text: str) -> str:
    """Replace each full product key in ``text`` by ``XXXXX-XXXXX-XXXXX-XXXXX-`` and its last five characters, upper case."""
    spans = _key_spans(text)
    if not spans:
        return text

    pieces: list[str] = []
    end = 0
    for start, stop in spans:
        pieces.append(text[end:start])
        pieces.append(MASK_PREFIX + last_five(text[start:stop]))
        end = stop
    pieces.append(text[end:])
    return "".join(pieces)


def last_five(text: str) -> str:
    """Return the last five letters or digits of ``text``, upper case, skipping separators and spaces.

    A value with fewer than five letters or digits is returned whole (upper case, without separators).
    """
    characters = [character for character in text if character.isascii() and character.isalnum()]
    return "".join(characters[-PARTIAL_KEY_LENGTH:]).upper()


def _key_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of the full keys in ``text``, in order and without overlap."""
    spans: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        if match.group("contiguous") is not None:
            if _has_letter_and_digit(match.group()):
                spans.append(match.span())
        else:
            spans += _keys_in_run(match.group(), match.start())
    return sorted(spans)


def _keys_in_run(run: str, offset: int) -> list[tuple[int, int]]:
    """Pick the keys in a run of separated five-character groups.

    Every five consecutive groups are a candidate. Candidates with more groups
    of the strict key alphabet win, because English words contain vowels and
    keys do not, so "Enter NPPR9 FWDCX D2C8J H872K 2YT43" yields the last five
    groups. Next, candidates with more groups that contain a digit win, because
    most key groups have one and words have none. Overlapping candidates that
    still tie are merged into one span, so that masking it hides the key
    whichever of them it is. Spans never overlap.
    """
    group_count = (len(run) + 1) // _GROUP_STRIDE
    key_width = _GROUPS_PER_KEY * _GROUP_STRIDE - 1
    candidates = []
    for first in range(group_count - _GROUPS_PER_KEY + 1):
        start = first * _GROUP_STRIDE
        window = run[start : start + key_width]
        if _is_grouped_key(window):
            score = (-_strict_group_count(window), -_digit_group_count(window))
            candidates.append((score, first))

    chosen: list[_GroupSpan] = []
    for score, first in sorted(candidates):
        last = first + _GROUPS_PER_KEY - 1
        overlapping = [span for span in chosen if first <= span.last and span.first <= last]
        if not overlapping:
            chosen.append(_GroupSpan(score, first, last))
        elif len(overlapping) == 1 and overlapping[0].score == score:
            overlapping[0].first = min(overlapping[0].first, first)
            overlapping[0].last = max(overlapping[0].last, last)

    return [
        (offset + span.first * _GROUP_STRIDE, offset + span.last * _GROUP_STRIDE + _GROUP_LENGTH) for span in chosen
    ]


@dataclass
class _GroupSpan:
    """Groups ``first`` to ``last`` (inclusive) of a run, chosen as one key with the candidate score ``score``."""

    score: tuple[int, int]
    first: int
    last: int


def _is_grouped_key(window: str) -> bool:
    if any(is_masked(group) for group in _groups(window)[: _GROUPS_PER_KEY - 1]):
        return False
    if " " in window:
        return _has_letter_and_digit(window)
    return any(character.isalpha() for character in window)


def _groups(window: str) -> list[str]:
    return [window[index : index + _GROUP_LENGTH] for index in range(0, len(window), _GROUP_STRIDE)]


def _strict_group_count(window: str) -> int:
    return sum(1 for group in _groups(window) if set(group) <= _KEY_CHARACTERS)


def _digit_group_count(window: str) -> int:
    return sum(1 for group in _groups(window) if any(character.isdigit() for character in group))


def _has_letter_and_digit(text: str) -> bool:
    has_letter = any(character.isalpha() for character in text)
    has_digit = any(character.isdigit() for character in text)
    return has_letter and has_digit
