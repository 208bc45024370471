"""The slmgr label table is consistent data that the parser and the test fleet can both rely on."""

from __future__ import annotations

import pytest

from makaudit.model import LicenseStatus
from makaudit.parsing import parse_slmgr_text
from makaudit.parsing.slmgr_labels import ENGLISH, FIELDS, LANGUAGES, SENTENCES, XPR_KINDS, language

REQUIRED_FIELDS = (
    "service_version", "name", "description", "activation_id", "application_id", "extended_pid",
    "product_key_channel", "installation_id", "partial_product_key", "license_status", "notification_reason",
    "volume_expiration", "timebased_expiration", "time_remaining", "remaining_windows_rearm",
    "remaining_sku_rearm", "trusted_time", "kms_machine_registered", "kms_machine_dns", "kms_machine_ip", "cmid",
    "activation_interval", "renewal_interval",
)


@pytest.mark.parametrize("entry", LANGUAGES, ids=lambda entry: entry.code)
def test_language_uses_known_names(entry) -> None:
    assert set(entry.labels) <= set(FIELDS)
    assert set(entry.sentences) <= set(SENTENCES)
    assert set(entry.xpr) <= set(XPR_KINDS)
    assert all(texts for texts in entry.labels.values())


def test_english_covers_every_required_field() -> None:
    assert all(ENGLISH.canonical_label(name) for name in REQUIRED_FIELDS)
    assert all(ENGLISH.canonical_status(status) for status in LicenseStatus)


def test_canonical_english_status_text() -> None:
    assert ENGLISH.canonical_status(LicenseStatus.NON_GENUINE_GRACE) == "Non-genuine grace period."
    assert ENGLISH.canonical_status(LicenseStatus.OOB_GRACE) == "Initial grace period"


def test_language_lookup_and_unknown() -> None:
    assert language("ZH-cn").canonical_label("license_status") == "许可证状态"
    with pytest.raises(KeyError, match="known languages"):
        language("xx")


@pytest.mark.parametrize("entry", [ENGLISH, language("zh-CN")], ids=lambda entry: entry.code)
def test_rendered_canonical_block_parses_back(entry) -> None:
    lines = [
        entry.canonical_label("name") + entry.separator + "Windows(R), Enterprise edition",
        entry.canonical_label("description") + entry.separator + "Windows(R) Operating System, VOLUME_MAK channel",
        entry.canonical_label("partial_product_key") + entry.separator + "7RW4K",
        entry.canonical_label("license_status") + entry.separator + entry.canonical_status(LicenseStatus.LICENSED),
    ]
    record = parse_slmgr_text("\n".join(lines), entry.code).records[0]
    assert record.partial_product_key == "7RW4K"
    assert record.license_status is LicenseStatus.LICENSED
