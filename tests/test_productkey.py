"""The product-key detector: every written form of a full key, and the identifiers that must never match."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makaudit.parsing.text import decode_text
from makaudit.productkey import (
    KEY_ALPHABET,
    MASK_PREFIX,
    contains_full_key,
    find_full_keys,
    is_partial_key,
    last_five,
    mask_full_keys,
)

GVLK = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
"""The published GVLK of Windows Enterprise, a real full key."""

CAPTURES = Path(__file__).resolve().parent / "captures"


def captured(pattern: str) -> list[str]:
    """Return every distinct match of ``pattern`` in the real captures, so tests use identifiers Windows printed."""
    found: set[str] = set()
    for path in sorted(CAPTURES.glob("*.txt")):
        found.update(re.findall(pattern, decode_text(path.read_bytes())))
    return sorted(found)


@pytest.mark.parametrize(
    "written",
    [
        GVLK,
        GVLK.lower(),
        GVLK.replace("-", ""),
        GVLK.replace("-", "").lower(),
        GVLK.replace("-", " "),
        GVLK.replace("-", "\u2013"),
        GVLK.replace("-", "\u2014"),
        "NPPR9-FWDCX\u2013D2C8J\u2014H872K 2YT43",
        "ABCDE-FGHJK-MNPQR-TVWXY-2346B",
        "abcde fghjk mnpqr tvwxy 2346b",
        "NPPR9-FWDCX-D2C8J-H872K-XXXXX",
    ],
)
def test_key_form_detected_and_masked(written: str) -> None:
    text = f"installed {written}."

    assert find_full_keys(text) == [written]
    assert contains_full_key(text)
    assert mask_full_keys(text) == f"installed {MASK_PREFIX}{last_five(written)}."


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (GVLK, MASK_PREFIX + "2YT43"),
        (f"({GVLK})", f"({MASK_PREFIX}2YT43)"),
        (f"密钥{GVLK.replace('-', '')}已安装", f"密钥{MASK_PREFIX}2YT43已安装"),
        (f"Enter {GVLK.replace('-', ' ')} now", f"Enter {MASK_PREFIX}2YT43 now"),
        (f"key {GVLK} about", f"key {MASK_PREFIX}2YT43 about"),
        (f"bcdfg {GVLK.replace('-', ' ')}", f"bcdfg {MASK_PREFIX}2YT43"),
        (f"{GVLK.replace('-', ' ')} bcdfg", f"{MASK_PREFIX}2YT43 bcdfg"),
        (f"{GVLK} and W269N-WFGWX-YVC9B-4J6C9-T83GX", f"{MASK_PREFIX}2YT43 and {MASK_PREFIX}T83GX"),
        (f"{GVLK}-W269N-WFGWX-YVC9B-4J6C9-T83GX", f"{MASK_PREFIX}T83GX"),
        ("bcdfg NPPR9 FWDCX D2C8J H872K YTBCD", f"{MASK_PREFIX}YTBCD"),
    ],
)
def test_key_found_among_text(text: str, masked: str) -> None:
    assert mask_full_keys(text) == masked
    assert not contains_full_key(masked)


def test_key_after_json_escape_masked() -> None:
    text = json.dumps({"message": f"slmgr failed\n{GVLK.replace('-', '')}\t{GVLK}"})

    masked = mask_full_keys(text)

    assert "NPPR9" not in masked
    assert json.loads(masked) == {"message": f"slmgr failed\n{MASK_PREFIX}2YT43\t{MASK_PREFIX}2YT43"}


def test_masking_is_stable() -> None:
    text = f"a {GVLK} b {GVLK.replace('-', ' ')} c"

    once = mask_full_keys(text)

    assert mask_full_keys(once) == once
    assert find_full_keys(once) == []


@pytest.mark.parametrize(
    "text",
    [
        "XXXXX-XXXXX-XXXXX-XXXXX-J46MR",
        "xxxxx-xxxxx-xxxxx-xxxxx-j46mr",
        "*****-*****-*****-*****-2YT43",
        "NPPR9-*****-*****-*****-2YT43",
        "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX",
        "Build 26100 XXXXX-XXXXX-XXXXX-XXXXX-2YT43",
        "XXXXXXXXXXXXXXXXXXXXXXXXX",
    ],
)
def test_masked_keys_not_matched(text: str) -> None:
    assert find_full_keys(text) == []
    assert mask_full_keys(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Hello world these words again",
        "Could these seven items start today",
        "Please check every other field",
        "state-of-the-art",
        "Windows(R) Operating System, VOLUME_MAK channel",
        "12345-67890-12345-67890-12345",
        "1234567890123456789012345",
        "BCDFGHJKMNPQRTVWXYBCDFGHJK",
        "BCDFGHJKMNPQRTVWXYBCDFGHJ",
        "2346789234678923467892346",
        "NPPR9FWDCXD2C8JH872K2YT4",
        "NPPR9FWDCXD2C8JH872K2YT437",
        "NPPR9-FWDCX-D2C8J-H872K",
        "NPPR9_FWDCX_D2C8J_H872K_2YT43",
        "NPPR9-FWDCX-D2C8J-H872K-2YT43X",
        "ABCDE FGHJK MNPQR TVWXY BCDFG",
        "00330-80000-00000-AA946",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "S-1-5-21-3623811015-3361044348-30300820-1013",
    ],
)
def test_non_keys_not_matched(text: str) -> None:
    assert find_full_keys(text) == []
    assert not contains_full_key(text)
    assert mask_full_keys(text) == text


def test_captured_guids_not_matched() -> None:
    guids = captured(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")

    assert len(guids) >= 10
    for guid in guids:
        assert find_full_keys(guid) == [], guid
        assert find_full_keys("{" + guid.upper() + "}") == [], guid


def test_captured_installation_ids_not_matched() -> None:
    installation_ids = captured(r"\b[0-9]{63}\b")

    assert len(installation_ids) >= 2
    for installation_id in installation_ids:
        assert find_full_keys(installation_id) == [], installation_id
        grouped = " ".join(installation_id[index : index + 7] for index in range(0, 63, 7))
        assert find_full_keys(grouped) == [], grouped


def test_captured_product_ids_not_matched() -> None:
    identifiers = captured(r"\b[0-9]{5}-[0-9]{5}-[0-9]{3}-[0-9]{6}-[0-9]{2}-[0-9]{4}-[0-9.]+-[0-9]+")
    identifiers += captured(r"\b[0-9]{5}-[0-9]{5}-[0-9]{5}-AA[0-9]{3}\b")

    assert len(identifiers) >= 4
    for identifier in identifiers:
        assert find_full_keys(identifier) == [], identifier


def test_captures_have_no_full_key() -> None:
    paths = sorted(CAPTURES.glob("*.txt"))

    assert paths
    for path in paths:
        assert find_full_keys(decode_text(path.read_bytes())) == [], path.name


@pytest.mark.parametrize("partial", ["7QJ2K", "7qj2k", "2YN43", "NNNNN", "BCDFG", "23469"])
def test_partial_key_accepted(partial: str) -> None:
    assert is_partial_key(partial)


@pytest.mark.parametrize(
    "text",
    ["", "7QJ2", "7QJ2K7", " 7QJ2K", "7QJ2K ", "7QJ2A", "7QJ2E", "7QJ2I", "7QJ2O", "7QJ2U", "7QJ2L", "7QJ2S",
     "7QJ2Z", "7QJ20", "7QJ21", "7QJ25", "7QJ-2", "７QJ2K"],
)
def test_partial_key_rejected(text: str) -> None:
    assert not is_partial_key(text)


def test_alphabet_has_n_and_no_vowels() -> None:
    assert len(KEY_ALPHABET) == 25
    assert "N" in KEY_ALPHABET
    assert not set("AEIOU015LSZ") & set(KEY_ALPHABET)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GVLK, "2YT43"),
        (GVLK.lower(), "2YT43"),
        ("NPPR9 FWDCX D2C8J H872K 2YT43 ", "2YT43"),
        ("H872K\u20142yt43", "2YT43"),
        ("7Q-J", "7QJ"),
        ("", ""),
    ],
)
def test_last_five(text: str, expected: str) -> None:
    assert last_five(text) == expected


_KEYS = (
    st.lists(st.sampled_from(KEY_ALPHABET + KEY_ALPHABET.lower()), min_size=25, max_size=25)
    .map("".join)
    .filter(lambda key: any(c.isalpha() for c in key) and any(c.isdigit() for c in key))
)
_SEPARATORS = st.sampled_from(["-", "\u2013", "\u2014", " "])
_PROSE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,:;()\n", max_size=40)
_WORDS = st.lists(st.sampled_from(["bcdfg", "Enter", "crypt", "nymph", "key", "12345", "PC042"]), max_size=3).map(" ".join)


def written_form(key: str, separator: str, grouped: bool) -> str:
    return separator.join(key[index : index + 5] for index in range(0, 25, 5)) if grouped else key


@settings(max_examples=150, deadline=None)
@given(key=_KEYS, separator=_SEPARATORS, grouped=st.booleans(), before=_PROSE, after=_PROSE)
def test_any_written_key_masked(key: str, separator: str, grouped: bool, before: str, after: str) -> None:
    written = written_form(key, separator, grouped)
    text = f"{before}: {written}. {after}"

    masked = mask_full_keys(text)

    assert contains_full_key(text)
    assert masked == f"{before}: {MASK_PREFIX}{key[-5:].upper()}. {after}"


@settings(max_examples=150, deadline=None)
@given(key=_KEYS, separator=_SEPARATORS, before=_WORDS, after=_WORDS)
def test_key_between_words_hidden(key: str, separator: str, before: str, after: str) -> None:
    written = written_form(key, separator, grouped=True)
    text = f"{before} {written} {after}"

    masked = mask_full_keys(text)

    assert MASK_PREFIX in masked
    assert find_full_keys(masked) == []
    visible = re.sub(re.escape(MASK_PREFIX) + "[A-Z0-9]{5}", " ", masked)
    assert set(visible.split()) <= set(f"{before} {after}".split())
