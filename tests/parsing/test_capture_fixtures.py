"""Every real capture parses to what its ``.expected.json`` sidecar says.

The sidecars were written by hand and vary in shape (``name`` or
``license_name``, ``code`` or ``number``, values with a note in brackets), so
``_expected_products`` adapts them to one shape first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from makaudit.analysis.classify import channel_from_token
from makaudit.errors import ParseError
from makaudit.model import LicenseRecord
from makaudit.parsing import parse_file

from parsing_captures import FIXTURES, capture_files

ACTION_OUTPUT = re.compile(r"^(?:ospp-(?:act|sethst|unpkey)|slmgr-(?:ato|ipk|rearm)|slmgr-dlv-en-error)-")
NOT_LICENSE_OUTPUT = re.compile(r"^slmgr-(?:help|ini)-")

CAPTURES = capture_files()
if not CAPTURES:
    CAPTURES = [pytest.param(None, marks=pytest.mark.skip(reason=f"real captures not available in {FIXTURES}"))]


def _ids(path: Path | None) -> str:
    return "none" if path is None else path.stem


def _sidecar(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))


def _first_word(value: Any) -> Any:
    """Drop the note a sidecar adds in brackets: ``"XXXXX (masked)"`` becomes ``"XXXXX"``."""
    if isinstance(value, str):
        return value.split(" (", 1)[0].strip()
    return value


def _expected_products(sidecar: dict[str, Any]) -> list[dict[str, Any]]:
    products = []
    for product in sidecar.get("products") or []:
        if product.get("license_in_use") is False:
            continue
        adapted: dict[str, Any] = {}
        name = product.get("name", product.get("license_name"))
        if name is not None:
            adapted["name"] = name
        description = product.get("description", product.get("license_description"))
        if description is not None:
            adapted["description"] = description.replace("_ ", "_")
        inferred = "inferred" in str(product.get("channel_source", "")) or "channel_inferred" in product
        if "channel" in product and not inferred:
            adapted["channel"] = product["channel"]
        if "partial_product_key" in product:
            adapted["partial_product_key"] = _first_word(product["partial_product_key"])
        if "license_status" in product:
            status = product["license_status"]
            adapted["status_code"] = None if status is None else status.get("code", status.get("number"))
        if "kms_machine" in product:
            adapted["kms_machine"] = _first_word(product["kms_machine"])
        products.append(adapted)
    return products


def _check_record(record: LicenseRecord, expected: dict[str, Any], where: str) -> None:
    if "name" in expected:
        assert record.name == expected["name"], where
    if "description" in expected:
        assert record.description == expected["description"], where
    if "channel" in expected:
        assert record.channel is channel_from_token(expected["channel"]), where
    if "partial_product_key" in expected:
        assert record.partial_product_key == expected["partial_product_key"], where
    if "status_code" in expected:
        assert record.license_status_code == expected["status_code"], where
    if "kms_machine" in expected:
        assert record.kms_machine == expected["kms_machine"], where


@pytest.mark.parametrize("capture", CAPTURES, ids=_ids)
def test_capture_matches_sidecar(capture: Path) -> None:
    sidecar = _sidecar(capture)

    if NOT_LICENSE_OUTPUT.match(capture.name):
        with pytest.raises(ParseError, match="expected"):
            parse_file(capture)
        return

    states = parse_file(capture)
    records = [record for state in states for record in state.records]
    errors = [error for state in states for error in state.errors]

    if ACTION_OUTPUT.match(capture.name):
        assert records == []
        expected_codes = [product["error_code"] for product in sidecar.get("products", []) if product.get("error_code")]
        top_error = sidecar.get("error")
        if isinstance(top_error, dict) and top_error.get("code"):
            expected_codes.append(top_error["code"])
        assert sorted(error.code for error in errors if error.code) == sorted(expected_codes)
        failed = [product for product in sidecar.get("products", []) if product.get("result") == "error"]
        assert len(errors) >= len(failed)
        return

    expected = _expected_products(sidecar)
    assert len(records) == len(expected)
    for index, (record, wanted) in enumerate(zip(records, expected)):
        _check_record(record, wanted, f"{capture.name} product {index + 1}")
