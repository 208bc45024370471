"""The endpoint document parser: records, identity, KMS host, fallbacks and every rejection."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from makaudit.errors import ParseError
from makaudit.model import Application, Channel, LicenseStatus, RecordSource
from makaudit.parsing import parse_bytes, parse_endpoint_document

FULL_KEY = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
"""The public GVLK of Windows Enterprise: a real full key, so it must be rejected like any other."""


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": "makaudit-endpoint",
        "version": 1,
        "collected_at": "2026-12-04T19:40:00Z",
        "computer": {"name": "PC-0042", "uuid": "4C4C4544-0042-3010-8052-B7C04F4E3332", "ui_culture": "de-DE"},
        "service": {
            "KeyManagementServiceMachine": None,
            "KeyManagementServicePort": 0,
            "DiscoveredKeyManagementServiceMachineName": "kms01.example.test",
            "DiscoveredKeyManagementServiceMachinePort": 1688,
        },
        "products": [
            {
                "ID": "73111121-5638-40f6-bc11-f1d7b0d64300",
                "ApplicationID": "55c92734-d682-4d71-983e-d6ec3f16059f",
                "Name": "Windows(R), Enterprise edition",
                "Description": "Windows(R) Operating System, VOLUME_MAK channel",
                "ProductKeyChannel": "Volume:MAK",
                "PartialProductKey": "7RW4K",
                "LicenseStatus": 1,
                "LicenseStatusReason": 3221549076,
                "GracePeriodRemaining": 0,
                "EvaluationEndDate": None,
            }
        ],
        "ospp_products": [],
        "slmgr_dlv": None,
        "errors": [{"source": "ospp", "message": "Invalid class"}],
    }
    document.update(changes)
    return document


def test_mak_product_read() -> None:
    state = parse_endpoint_document(_document(), "pc-0042.json")

    assert len(state.records) == 1
    record = state.records[0]
    assert record.channel is Channel.MAK
    assert record.application is Application.WINDOWS
    assert record.partial_product_key == "7RW4K"
    assert record.license_status is LicenseStatus.LICENSED
    assert record.license_status_reason == "0xC004F014"
    assert record.source is RecordSource.WMI
    assert record.kms_machine is None


def test_identity_time_errors_and_document_kept() -> None:
    document = _document()
    state = parse_endpoint_document(document, "pc-0042.json")

    assert state.computer.name == "PC-0042"
    assert state.computer.host_key == "uuid:4C4C4544-0042-3010-8052-B7C04F4E3332"
    assert state.collected_at == datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)
    assert [(error.source, error.message) for error in state.errors] == [("ospp", "Invalid class")]
    assert state.document is document
    assert state.origin == "pc-0042.json"


def test_service_kms_discovered_with_port() -> None:
    state = parse_endpoint_document(_document(), "doc")
    assert state.kms_machine == "kms01.example.test:1688"


def test_service_kms_registered_wins() -> None:
    service = {"KeyManagementServiceMachine": "kms02.example.test", "KeyManagementServicePort": 0,
               "DiscoveredKeyManagementServiceMachineName": "kms01.example.test"}
    state = parse_endpoint_document(_document(service=service), "doc")
    assert state.kms_machine == "kms02.example.test"


def test_kms_client_falls_back_to_service_host() -> None:
    product = {
        "Name": "Windows(R), Professional edition",
        "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        "PartialProductKey": "T83GX",
        "LicenseStatus": 1,
    }
    state = parse_endpoint_document(_document(products=[product]), "doc")
    assert state.records[0].channel is Channel.KMS_CLIENT
    assert state.records[0].kms_machine == "kms01.example.test:1688"


def test_product_own_kms_host_used() -> None:
    product = dict(_document()["products"][0], KeyManagementServiceMachine="kms09.example.test", KeyManagementServicePort=1700)
    state = parse_endpoint_document(_document(products=[product]), "doc")
    assert state.records[0].kms_machine == "kms09.example.test:1700"


def test_ospp_products_also_read() -> None:
    office = {
        "Name": "Office 14, OfficeProPlus-MAK edition",
        "Description": "Office 14, VOLUME_MAK channel",
        "ApplicationId": "59a52881-a989-479d-af46-f275c6370663",
        "PartialProductKey": "Q7R3T",
        "LicenseStatus": 1,
    }
    state = parse_endpoint_document(_document(ospp_products=[office]), "doc")
    assert [record.application for record in state.records] == [Application.WINDOWS, Application.OFFICE]


def test_bare_product_object_read_as_list() -> None:
    document = _document()
    document["products"] = document["products"][0]
    state = parse_endpoint_document(document, "doc")
    assert len(state.records) == 1


def test_slmgr_text_used_when_wmi_empty() -> None:
    text = (
        "Name: Windows(R), ServerStandard edition\n"
        "Description: Windows(R) Operating System, VOLUME_MAK channel\n"
        "Partial Product Key: 9QK2M\n"
        "License Status: Licensed\n"
    )
    state = parse_endpoint_document(_document(products=[], slmgr_dlv=text), "doc")
    assert [(record.source, record.channel, record.partial_product_key) for record in state.records] == [
        (RecordSource.SLMGR, Channel.MAK, "9QK2M")
    ]


def test_no_keyed_product_no_records() -> None:
    state = parse_endpoint_document(_document(products=[]), "doc")
    assert state.records == ()
    assert not state.has_keyed_product


def test_status_unknown_stays_none() -> None:
    product = dict(_document()["products"][0])
    del product["LicenseStatus"]
    state = parse_endpoint_document(_document(products=[product]), "doc")
    assert state.records[0].license_status is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"format": "something-else"}, "format"),
        ({"version": 2}, "version"),
        ({"version": "1"}, "version"),
        ({"version": True}, "version"),
        ({"computer": "PC-0042"}, "computer"),
        ({"collected_at": "yesterday"}, "collected_at"),
        ({"products": "none"}, "products"),
        ({"products": [1, 2]}, "products[0]"),
        ({"service": []}, "service"),
        ({"errors": {"source": 1, "message": 2, "x": []}, "slmgr_dlv": 5, "products": []}, "slmgr_dlv"),
    ],
)
def test_invalid_document_rejected(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_endpoint_document(_document(**changes), "bad.json")
    assert caught.value.field == field
    assert "bad.json" in str(caught.value)


def test_not_a_mapping_rejected() -> None:
    with pytest.raises(ParseError, match="JSON object"):
        parse_endpoint_document([], "bad.json")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "place",
    ["oa3", "product_name", "error_message", "slmgr"],
)
def test_full_key_rejected_not_echoed(place: str) -> None:
    document = copy.deepcopy(_document())
    if place == "oa3":
        document["service"]["OA3xOriginalProductKey"] = FULL_KEY
    elif place == "product_name":
        document["products"][0]["Name"] = f"installed {FULL_KEY}"
    elif place == "error_message":
        document["errors"][0]["message"] = f"slmgr /ipk {FULL_KEY} failed"
    else:
        document["slmgr_dlv"] = f"Installed product key {FULL_KEY} successfully."

    with pytest.raises(ParseError) as caught:
        parse_endpoint_document(document, "leak.json")
    assert "collection script" in str(caught.value)
    assert FULL_KEY not in str(caught.value)
    assert FULL_KEY[:23] not in repr(caught.value.__dict__)


@pytest.mark.parametrize(
    "written",
    [
        "NPPR9FWDCXD2C8JH872K2YT43",
        "nppr9fwdcxd2c8jh872k2yt43",
        "NPPR9 FWDCX D2C8J H872K 2YT43",
        "NPPR9\u2013FWDCX\u2013D2C8J\u2013H872K\u20132YT43",
        "NPPR9\u2014FWDCX\u2014D2C8J\u2014H872K\u20142YT43",
    ],
)
def test_key_forms_in_description_rejected(written: str) -> None:
    document = _document()
    document["products"][0]["Description"] = f"Windows(R) Operating System, VOLUME_MAK channel {written}"

    with pytest.raises(ParseError) as caught:
        parse_endpoint_document(document, "leak.json")

    message = str(caught.value)
    assert caught.value.field == "$.products[0].Description"
    assert "ending in 2YT43" in message
    assert written not in message
    assert "NPPR9" not in message.upper()
    assert "FWDCX" not in repr(caught.value.__dict__).upper()


def test_key_as_field_name_masked() -> None:
    document = _document()
    document["computer"]["NPPR9FWDCXD2C8JH872K2YT43"] = "installed"

    with pytest.raises(ParseError) as caught:
        parse_endpoint_document(document, "leak.json")

    assert caught.value.field == "$.computer.XXXXX-XXXXX-XXXXX-XXXXX-2YT43"
    assert "NPPR9" not in str(caught.value)


def test_guids_and_ids_accepted() -> None:
    document = _document()
    document["products"][0]["ProductKeyID"] = "03612-03311-000-000001-03-1033-26200.0000-2232026"
    document["products"][0]["OfflineInstallationId"] = (
        "245572112661545759834448712380518432897778014680406029450286423"
    )
    document["products"][0]["Description"] = "Windows(R) Operating System, VOLUME_MAK channel"

    state = parse_endpoint_document(document, "doc")

    assert [record.partial_product_key for record in state.records] == ["7RW4K"]


def test_masked_oa3_key_accepted() -> None:
    document = _document()
    document["service"] = dict(document["service"], OA3xOriginalProductKey="XXXXXXXXXXXXXXXXXXXXXXXXX")
    assert parse_endpoint_document(document, "doc").records


def test_detected_from_bytes_utf16() -> None:
    data = json.dumps(_document()).encode("utf-16-le")
    states = parse_bytes(b"\xff\xfe" + data, "doc.json")
    assert states[0].computer.name == "PC-0042"
