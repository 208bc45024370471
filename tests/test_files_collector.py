"""Importing files and folders: one HostResult per endpoint, bad files reported, good ones kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from makaudit.collectors.files import read_paths
from makaudit.errors import InputError
from makaudit.model import Channel, HostStatus

DOCUMENT = {
    "format": "makaudit-endpoint",
    "version": 1,
    "collected_at": "2026-12-04T19:40:00Z",
    "computer": {"name": "PC-0042"},
    "service": None,
    "products": [
        {
            "Name": "Windows(R), Enterprise edition",
            "Description": "Windows(R) Operating System, VOLUME_MAK channel",
            "PartialProductKey": "7RW4K",
            "LicenseStatus": 1,
        }
    ],
    "ospp_products": [],
    "slmgr_dlv": None,
    "errors": [],
}
SLMGR = "Name: Windows(R), Professional edition\r\nPartial Product Key: 3V66T\r\nLicense Status: Licensed\r\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "pc-0042.json").write_text(json.dumps(DOCUMENT), encoding="utf-8")
    (tmp_path / "hosts" / "nested").mkdir()
    (tmp_path / "hosts" / "nested" / "dlv.log").write_bytes(b"\xff\xfe" + SLMGR.encode("utf-16-le"))
    (tmp_path / "hosts" / "broken.txt").write_text("this is not licensing output\n", encoding="utf-8")
    (tmp_path / "hosts" / "dlv.expected.json").write_text("{}", encoding="utf-8")
    (tmp_path / "hosts" / ".hidden.json").write_text(json.dumps(DOCUMENT), encoding="utf-8")
    (tmp_path / "hosts" / ".git").mkdir()
    (tmp_path / "hosts" / ".git" / "config.json").write_text(json.dumps(DOCUMENT), encoding="utf-8")
    return tmp_path / "hosts"


def test_folder_imported_recursively(folder: Path) -> None:
    results = read_paths([folder])

    by_target = {result.target: result for result in results}
    assert set(by_target) == {"PC-0042", str(folder / "nested" / "dlv.log"), str(folder / "broken.txt")}
    assert by_target["PC-0042"].status is HostStatus.OK
    assert by_target["PC-0042"].state.records[0].channel is Channel.MAK
    assert by_target[str(folder / "nested" / "dlv.log")].state.records[0].partial_product_key == "3V66T"


def test_unparsable_file_is_error_result(folder: Path) -> None:
    broken = next(result for result in read_paths([folder]) if result.target.endswith("broken.txt"))
    assert broken.status is HostStatus.ERROR
    assert broken.state is None
    assert "broken.txt" in broken.error
    assert "expected" in broken.error


def test_single_file_path(folder: Path) -> None:
    results = read_paths([folder / "pc-0042.json"])
    assert [(result.target, result.status) for result in results] == [("PC-0042", HostStatus.OK)]


def test_missing_path_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(InputError, match="no-such-folder"):
        read_paths([missing])


def test_several_hosts_in_one_file(tmp_path: Path) -> None:
    listing = (
        "ComputerName        : PC-0002\nName                : Windows(R), ServerDatacenter edition\n"
        "Partial Product Key : T29CW\nLicense Status      : Licensed\n\n"
        "ComputerName        : PC-0003\nName                : Windows(R), ServerDatacenter edition\n"
        "Partial Product Key : 27HJ8\nLicense Status      : Licensed\n"
    )
    path = tmp_path / "jobs.txt"
    path.write_text(listing, encoding="utf-8")
    assert [result.target for result in read_paths([path])] == ["PC-0002", "PC-0003"]


def test_examples_folder_imports() -> None:
    examples = Path(__file__).resolve().parents[1] / "examples"
    if not examples.is_dir():
        pytest.skip("examples folder not present")
    results = read_paths([examples])
    assert results
    assert all(result.status is HostStatus.OK for result in results), [result.error for result in results]
