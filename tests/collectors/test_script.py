"""The collection script as shipped: size, slmgr switch, stdin form and the properties it copies."""

from __future__ import annotations

import base64
import importlib.resources
import re

import pytest

from makaudit.collectors.script import CMD_LINE_LIMIT, NO_SLMGR_MARKER, collection_script, minify


def _source() -> str:
    return importlib.resources.files("makaudit.collectors").joinpath("collect.ps1").read_text(encoding="utf-8")


@pytest.mark.parametrize("slmgr", [True, False])
def test_encoded_command_fits_cmd_line(slmgr: bool) -> None:
    script = collection_script(slmgr=slmgr)

    assert len(script.encoded_command) <= CMD_LINE_LIMIT
    assert script.fits_command_line


@pytest.mark.parametrize("slmgr", [True, False])
def test_encoded_command_decodes_to_script(slmgr: bool) -> None:
    script = collection_script(slmgr=slmgr)
    encoded = script.encoded_command.rsplit(" ", 1)[1]

    assert base64.b64decode(encoded).decode("utf-16-le") == script.text


def test_marker_only_when_slmgr_disabled() -> None:
    assert NO_SLMGR_MARKER not in collection_script(slmgr=True).text
    assert NO_SLMGR_MARKER not in _source()
    disabled = collection_script(slmgr=False).text
    assert disabled.count(NO_SLMGR_MARKER) == 1
    assert "$slmgr=$false" in disabled
    assert "$slmgr=$true" not in disabled


def test_slmgr_through_cscript_nologo() -> None:
    text = collection_script().text

    assert 'cscript.exe //nologo "$env:SystemRoot\\System32\\slmgr.vbs" /dlv all' in text
    assert "wscript" not in text.lower()


def test_queries_and_output_rules() -> None:
    text = collection_script().text

    assert "FROM SoftwareLicensingProduct WHERE PartialProductKey IS NOT NULL" in text
    assert "FROM OfficeSoftwareProtectionProduct WHERE PartialProductKey IS NOT NULL" in text
    assert "Get-WmiObject" in text
    assert "[Console]::OutputEncoding" in text
    assert "ConvertTo-Json -InputObject $doc -Depth 6" in text


def test_full_oem_key_never_copied() -> None:
    names = re.findall(r"'(OA3x\w+)'", collection_script().text)

    assert names == ["OA3xOriginalProductKeyDescription"]


def test_minified_has_no_comments_or_indentation() -> None:
    text = collection_script().text

    assert all(line == line.strip() for line in text.splitlines())
    assert not any(line.startswith("#") for line in text.splitlines())
    assert text.isascii()


def test_minify_keeps_quoted_spaces() -> None:
    assert minify("  $a = 'x = y' # no\n\n# gone\n$b = \"a, b\"  ") == "$a='x = y' # no\n$b=\"a, b\""


def test_minify_keeps_space_before_script_block() -> None:
    assert minify("Part 'os' { $x = 1 }") == "Part 'os' {$x=1}"


def test_minify_rejects_non_ascii() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        minify("$a = 'café'")


def test_stdin_text_statement_breaks() -> None:
    script = collection_script()
    lines = script.stdin_text.split("\r\n")

    function_start = lines.index("function Wmi($q) {")
    assert lines[function_start + 1].startswith("try {Get-CimInstance")
    assert lines[function_start + 2] == "}"
    assert lines[function_start + 3] == ""
    assert "" not in lines[function_start : function_start + 3]
    assert script.stdin_command.endswith("-Command -")
