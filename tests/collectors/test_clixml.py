"""CLIXML on stderr decoded to message text."""

from __future__ import annotations

from makaudit.collectors.clixml import decode_stderr

_NS = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"'

PROGRESS_ONLY = (
    "#< CLIXML\r\n"
    f'<Objs Version="1.1.0.1" {_NS}><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
    '<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV>'
    '<AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj></Objs>'
)

ERROR_RECORD = (
    "#< CLIXML\r\n"
    f'<Objs Version="1.1.0.1" {_NS}>'
    '<S S="Error">Get-CimInstance : Invalid class "SoftwareLicensingProduct"_x000D__x000A_</S>'
    '<S S="Error">At line:1 char:1_x000D__x000A_</S>'
    '<S S="Verbose">not shown_x000D__x000A_</S>'
    "</Objs>"
)


def test_progress_only_decodes_to_empty() -> None:
    assert decode_stderr(PROGRESS_ONLY) == ""


def test_error_lines_joined() -> None:
    assert decode_stderr(ERROR_RECORD) == 'Get-CimInstance : Invalid class "SoftwareLicensingProduct"\nAt line:1 char:1'


def test_progress_then_error_blocks() -> None:
    assert decode_stderr(PROGRESS_ONLY + "\r\n" + ERROR_RECORD).startswith("Get-CimInstance : Invalid class")


def test_plain_text_unchanged() -> None:
    assert decode_stderr("The command line is too long.\r\n") == "The command line is too long."


def test_invalid_xml_returned_without_header() -> None:
    assert decode_stderr("#< CLIXML\r\n<Objs><S S=\"Error\">cut") == '<Objs><S S="Error">cut'


def test_escaped_characters_decoded() -> None:
    text = f'#< CLIXML\r\n<Objs {_NS}><S S="Warning">tab_x0009_here_x000A_</S></Objs>'

    assert decode_stderr(text) == "tab\there"
