"""Inputs that once escaped the parsers or kept a full product key."""

from __future__ import annotations

import json
from pathlib import Path

from makaudit.collectors.files import read_paths
from makaudit.model import HostStatus
from makaudit.parsing import parse_bytes
from makaudit.parsing.slmgr import parse_slmgr_text
from makaudit.parsing.values import parse_date
from makaudit.testing.pytest_plugin import sample_document

KEY = "NPPR9-FWDCX-D2C8J-H872K-2YT43"


def test_extreme_dates_with_offset_are_none():
    assert parse_date("9999-12-31T23:59:59-05:00") is None
    assert parse_date("0001-01-01T00:00:00+01:00") is None


def test_turkish_capital_label_is_skipped():
    state = parse_slmgr_text("Partial Product Key: 7QJ2K\nLİcense Status: Licensed\n", "x")

    assert [record.partial_product_key for record in state.records] == ["7QJ2K"]


def test_key_split_by_console_wrap_is_masked():
    head = "Error: 0xC004F050 "
    first = head + "." * (80 - len(head) - 15) + KEY[:15]
    text = (
        "Name: Windows(R), Enterprise edition\n"
        "Description: Windows(R) Operating System, VOLUME_MAK channel\n"
        "Partial Product Key: 7QJ2K\n"
        "License Status: Licensed\n"
        f"{first}\n{KEY[15:]} x\n"
    )

    [state] = parse_bytes(text.encode(), "x")

    messages = " ".join(error.message for error in state.errors)
    assert "2YT43" in messages
    assert "NPPR9" not in messages
    assert "D2C8J" not in messages


def test_overflowing_date_does_not_stop_folder_import(tmp_path: Path):
    document = sample_document("PC-0001")
    document["products"][0]["EvaluationEndDate"] = "9999-12-31T23:59:59-05:00"
    (tmp_path / "a.json").write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(sample_document("PC-0002")), encoding="utf-8")

    results = read_paths([tmp_path])

    assert sorted(result.target for result in results) == ["PC-0001", "PC-0002"]
    assert all(result.status is HostStatus.OK for result in results)


def test_dump_of_several_computers_gives_one_state_each():
    products = [
        {
            "PSComputerName": name,
            "Name": "Windows(R), Enterprise edition",
            "Description": "Windows(R) Operating System, VOLUME_MAK channel",
            "ApplicationID": "55c92734-d682-4d71-983e-d6ec3f16059f",
            "PartialProductKey": "7QJ2K",
            "LicenseStatus": 1,
        }
        for name in ("PC01", "PC02", "PC03")
    ]

    states = parse_bytes(json.dumps(products).encode(), "dump.json")

    assert [state.computer.name for state in states] == ["PC01", "PC02", "PC03"]
    assert all(len(state.records) == 1 for state in states)
