"""Arbitrary text and bytes never make a parser raise anything but ParseError."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makaudit.errors import ParseError
from makaudit.parsing import (
    parse_bytes,
    parse_endpoint_document,
    parse_json_dump,
    parse_json_text,
    parse_list_view,
    parse_ospp_text,
    parse_slmgr_text,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Fragments of real output, so that generated text reaches deep parser paths.
_PIECES = st.sampled_from(
    [
        "Name: ", "Description: ", "Partial Product Key: ", "License Status: ", "Licensed", "Unlicensed",
        "VOLUME_MAK channel", "LICENSE STATUS:  ---LICENSED---", "---------------------------------------",
        "Error: 0xC004F074", "许可证状态: 已授权", "Name                 : ", "LicenseStatus        : 5",
        "    Volume activation will expire 3/24/2027 2:35:57 AM", "Windows(R), Professional edition:",
        "\n", "\r\n", " ", ":", "{", "}", "[", "]", '"', "<LICENSEINFOS>", "x" * 79, "W269N-WFGWX-YVC9B-4J6C9-T83GX",
    ]
)
_TEXT = st.one_of(st.text(max_size=400), st.lists(_PIECES, max_size=40).map("".join))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


def _only_parse_error(call) -> None:
    try:
        call()
    except ParseError:
        pass


@FUZZ
@given(_TEXT)
def test_text_parsers_fuzz(text: str) -> None:
    for parser in (parse_slmgr_text, parse_ospp_text, parse_list_view, parse_json_text):
        _only_parse_error(lambda: parser(text, "fuzz"))


@FUZZ
@given(st.binary(max_size=600))
def test_parse_bytes_binary_fuzz(data: bytes) -> None:
    _only_parse_error(lambda: parse_bytes(data, "fuzz"))


@FUZZ
@given(_TEXT)
def test_parse_bytes_text_fuzz(text: str) -> None:
    _only_parse_error(lambda: parse_bytes(text.encode("utf-8"), "fuzz"))


@FUZZ
@given(_JSON)
def test_json_parsers_fuzz(value) -> None:
    _only_parse_error(lambda: parse_json_dump(value, "fuzz"))
    _only_parse_error(lambda: parse_bytes(json.dumps(value).encode(), "fuzz"))
    document = {"format": "makaudit-endpoint", "version": 1, "products": value, "service": value, "computer": value}
    _only_parse_error(lambda: parse_endpoint_document(document, "fuzz"))
    if isinstance(value, dict):
        _only_parse_error(lambda: parse_endpoint_document(dict(value, format="makaudit-endpoint", version=1), "fuzz"))
