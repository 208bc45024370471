"""The traps real Windows output sets for a parser, one table row each."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest

from makaudit.errors import ParseError
from makaudit.model import Channel, LicenseStatus
from makaudit.parsing import decode_text, parse_bytes, parse_json_dump, parse_ospp_text, parse_slmgr_text
from makaudit.parsing.values import parse_date

from parsing_captures import read_capture

FULL_KEY = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
"""The published GVLK of Windows Pro, used here as any full key would be."""


def _records(data: bytes):
    return [record for state in parse_bytes(data, "trap") for record in state.records]


# Dates ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/Date(1764877200000)/", datetime(2025, 12, 4, 19, 40, tzinfo=timezone.utc)),
        ("\\/Date(1764877200000)\\/", datetime(2025, 12, 4, 19, 40, tzinfo=timezone.utc)),
        ({"value": "/Date(1764877200000)/", "DateTime": "Thursday, December 4, 2025 7:40:00 PM"},
         datetime(2025, 12, 4, 19, 40, tzinfo=timezone.utc)),
        ("20261204194000.000000+000", datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)),
        ("20261204204000.000000+060", datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)),
        ("2026-12-04T19:40:00Z", datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)),
        ("16010101000000.000000-000", None),
        ("01.01.1601 01:00:00", None),
        ("12/31/1600 4:00:00 PM", None),
        ("1/1/1601 5:00:00 AM", None),
        ("/Date(-11644473600000)/", None),
        ("3/4/2026 1:00:00 PM", None),
        ("20/03/2026 12:44:15", datetime(2026, 3, 20, 12, 44, 15, tzinfo=timezone.utc)),
        ("not a date", None),
        (12345, None),
    ],
)
def test_date_forms(value, expected) -> None:
    assert parse_date(value) == expected


# JSON dumps -------------------------------------------------------------

_PRODUCT = {
    "Name": "Windows(R), Enterprise edition",
    "Description": "Windows(R) Operating System, VOLUME_MAK channel",
    "PartialProductKey": "7RW4K",
    "LicenseStatus": 1,
    "EvaluationEndDate": "\\/Date(-11644473600000)\\/",
}


def test_bare_object_dump() -> None:
    records = _records(json.dumps(_PRODUCT).encode())
    assert [(record.channel, record.evaluation_end) for record in records] == [(Channel.MAK, None)]


def test_cim_instance_noise_dump() -> None:
    noisy = {
        "CimClass": "root/cimv2:SoftwareLicensingProduct",
        "CimInstanceProperties": [{"Name": key, "Value": value, "CimType": 14} for key, value in _PRODUCT.items()],
        "CimSystemProperties": "Microsoft.Management.Infrastructure.CimSystemProperties",
        "PSComputerName": "PC-0042",
    }
    states = parse_bytes(json.dumps([noisy]).encode("utf-8-sig"), "dump.json")
    assert states[0].computer.name == "PC-0042"
    assert [record.partial_product_key for record in states[0].records] == ["7RW4K"]


def test_unkeyed_products_dropped() -> None:
    unkeyed = dict(_PRODUCT, PartialProductKey=None)
    assert _records(json.dumps([unkeyed, _PRODUCT]).encode()) == _records(json.dumps([_PRODUCT]).encode())


def test_json_without_licensing_objects_rejected() -> None:
    with pytest.raises(ParseError, match="SoftwareLicensingProduct"):
        parse_json_dump({"hello": [1, 2, {"world": True}]}, "other.json")


# slmgr text ------------------------------------------------------------

def test_wrapped_channel_joined() -> None:
    records = _records(read_capture("slmgr-dli-en-kmsclient-licensed-2.txt"))
    assert records[0].description.endswith("VOLUME_KMSCLIENT channel")
    assert records[0].channel is Channel.KMS_CLIENT


@pytest.mark.parametrize(("status_text", "expected"), [("Unlicensed", LicenseStatus.UNLICENSED), ("Licensed", LicenseStatus.LICENSED)])
def test_unlicensed_not_read_as_licensed(status_text: str, expected: LicenseStatus) -> None:
    text = f"Name: Windows(R), Professional edition\nPartial Product Key: 3V66T\nLicense Status: {status_text}\n"
    assert parse_slmgr_text(text, "t").records[0].license_status is expected


def test_not_in_use_block_skipped() -> None:
    text = (
        "Name: Windows(R), Enterprise edition\nDescription: Windows(R) Operating System, VOLUME_MAK channel\n"
        "Partial Product Key: 7RW4K\nLicense Status: Licensed\n\n"
        "Name: Windows(R), EnterpriseN edition\nDescription: Windows(R) Operating System, VOLUME_KMSCLIENT channel\n"
        "This license is not in use.\nLicense Status: Unlicensed\n"
    )
    state = parse_slmgr_text(text, "dlv-all")
    assert [record.partial_product_key for record in state.records] == ["7RW4K"]


def test_office_retail_mak_is_mak() -> None:
    text = "LICENSE NAME: Office 16, Office16StandardVL_MAK edition\nLICENSE DESCRIPTION: Office 16, RETAIL(MAK) channel\nLICENSE STATUS:  ---LICENSED---\n"
    assert parse_ospp_text(text, "t").records[0].channel is Channel.MAK


def test_german_duplicate_rearm_label() -> None:
    text = (
        "Name: Windows(R), Professional edition\nPartial Product Key: 3V66T\nLizenzstatus: Lizenziert\n"
        "Verbleibende Windows Rearm-Anzahl: 1001\nVerbleibende Windows Rearm-Anzahl: 1000\n"
    )
    assert parse_slmgr_text(text, "de").records[0].license_status is LicenseStatus.LICENSED


def test_ipk_key_never_kept_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    text = f"Installed product key {FULL_KEY} successfully.\nError: 0xC004F074 activation failed {FULL_KEY}\n"
    state = parse_slmgr_text(text, "ipk")
    assert state.records == ()
    assert state.errors[0].code == "0xC004F074"
    assert FULL_KEY not in repr(state)
    assert FULL_KEY not in caplog.text


def test_action_error_kept_without_records() -> None:
    state = parse_slmgr_text("Error: 0xC004F074 The Software Licensing Service reported ...", "ato")
    assert state.records == ()
    assert [(error.source, error.code) for error in state.errors] == [("slmgr", "0xC004F074")]


# Classification -------------------------------------------------------

def test_gvlk_beats_description() -> None:
    text = (
        "Name: Windows(R), Enterprise edition\nDescription: Windows(R) Operating System, VOLUME_MAK channel\n"
        "Partial Product Key: 2YT43\nLicense Status: Licensed\n"
    )
    assert parse_slmgr_text(text, "t").records[0].channel is Channel.KMS_CLIENT


def test_zero_keyed_products_visible() -> None:
    state = parse_slmgr_text("Software licensing service version: 10.0.26100.1\n", "empty")
    assert state.records == ()
    assert not state.has_keyed_product


# Encodings -------------------------------------------------------------

_ENCODINGS = [
    ("slmgr-dlv-en-kmsclient-notification-1.txt", "utf-8-sig", "\r\n"),
    ("slmgr-dlv-en-kmsclient-notification-1.txt", "utf-16", "\r\n"),
    ("slmgr-dlv-en-kmsclient-notification-1.txt", "utf-16-le", "\r\n"),
    ("slmgr-dlv-en-kmsclient-notification-1.txt", "utf-16-be", "\n"),
    ("slmgr-dlv-en-kmsclient-notification-1.txt", "cp437", "\r\n"),
    ("ospp-dstatus-en-rubanner-kmsclient-licensed-1.txt", "cp866", "\r\n"),
    ("ospp-dstatus-en-zhbanner-kmsclient-licensed-1.txt", "cp936", "\r\n"),
    ("slmgr-dlv-zh-CN-kmsclient-licensed-1.txt", "cp936", "\r\n"),
    ("slmgr-dlv-zh-CN-kmsclient-licensed-1.txt", "utf-16", "\r\n"),
    ("ospp-act-en-kobanner-kmsclient-success-1.txt", "cp949", "\r\n"),
]


@pytest.mark.parametrize(("capture", "encoding", "newline"), _ENCODINGS)
def test_capture_in_windows_encoding(capture: str, encoding: str, newline: str) -> None:
    original = read_capture(capture)
    text = original.decode("utf-8")
    reencoded = text.replace("\n", newline).encode(encoding)

    assert decode_text(reencoded) == text
    assert parse_bytes(reencoded, capture) == parse_bytes(original, capture)


def test_cp1252_text_decoded() -> None:
    text = "Name: Windows(R), Professional edition\nDescripción: x\nPartial Product Key: 3V66T\n"
    assert decode_text(text.encode("cp1252")) == text


def test_undecodable_bytes_rejected_cleanly() -> None:
    with pytest.raises(ParseError):
        parse_bytes(bytes(range(256)) * 4, "noise.bin")
