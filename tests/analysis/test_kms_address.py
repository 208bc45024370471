"""Parsing KMS host addresses and matching them against the approved list."""

from __future__ import annotations

import pytest

from makaudit.analysis.kms import ApprovedKmsHosts, KmsAddress, parse_kms_address


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("kms01.corp.example:1688", "kms01.corp.example", 1688),
        ("KMS01.Corp.Example.", "kms01.corp.example", None),
        ("10.0.0.5", "10.0.0.5", None),
        ("[fd00::5]:1688", "fd00::5", 1688),
        ("fd00::5", "fd00::5", None),
        (" kms01 ", "kms01", None),
    ],
)
def test_parse_kms_address(text, host, port):
    assert parse_kms_address(text) == KmsAddress(host, port)


@pytest.mark.parametrize("text", ["", ":1688", "kms01:http", "kms01:0", "kms01:70000", "[fd00::5", "[fd00::5]x"])
def test_parse_kms_address_rejects(text):
    with pytest.raises(ValueError, match="invalid KMS host"):
        parse_kms_address(text)


@pytest.mark.parametrize(
    ("text", "loopback"),
    [("127.0.0.1", True), ("127.255.0.9", True), ("::1", True), ("::ffff:127.0.0.1", True), ("LOCALHOST", True), ("10.0.0.1", False), ("kms01", False)],
)
def test_loopback_detection(text, loopback):
    assert parse_kms_address(text).is_loopback is loopback


def test_approved_list_ports():
    approved = ApprovedKmsHosts(["kms01", "kms02:1700"])

    assert approved.approves(parse_kms_address("KMS01:9999"))
    assert approved.approves(parse_kms_address("kms02:1700"))
    assert not approved.approves(parse_kms_address("kms02"))
    assert not approved.approves(parse_kms_address("kms03"))
    assert not ApprovedKmsHosts([])
