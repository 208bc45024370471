"""The host and record tables built from HostResult objects, checked value by value against the records."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from makaudit.analysis import analyse
from makaudit.analysis.frames import NO_STATUS, build_frames, build_latest_frames, latest_results
from makaudit.analysis.keys import key_usage
from makaudit.model import Channel, ComputerIdentity, HostStatus, LicenseStatus, machine_uuid_key

from analysis.builders import DEFAULT_CONFIG, NOW, days_ago, failed, host, inventory, key, record


def mixed_fleet():
    """Hosts with and without keyed records, a failed host, and two results of one host."""
    return [
        host(1, record(Channel.MAK, "7qj2k "), record(Channel.MAK, None), kms_machine="kms01:1688"),
        failed("srv-09", error=None),
        host(
            2,
            record(Channel.KMS_CLIENT, "2YT43", grace_minutes=None, kms_machine=""),
            record(Channel.RETAIL, "", name="Office"),
            record(Channel.MAK, "BBBBB", None, name="Office"),
            collected_at=days_ago(3),
        ),
        host(3),
        host(2, record(Channel.MAK, "CCCCC"), collected_at=days_ago(1)),
    ]


def test_latest_frames_match_two_step_build():
    fleet = mixed_fleet()

    once = build_latest_frames(fleet)
    twice = build_frames(latest_results(fleet))

    assert once.results == twice.results
    pd.testing.assert_frame_equal(once.hosts, twice.hosts)
    pd.testing.assert_frame_equal(once.records, twice.records)


def test_latest_frames_keep_newest_result_in_input_order():
    fleet = mixed_fleet()

    frames = build_latest_frames(fleet)

    assert frames.results == (fleet[0], fleet[1], fleet[3], fleet[4])


def test_record_table_drops_records_without_key():
    frames = build_latest_frames(mixed_fleet())
    records = frames.records

    assert records["host"].tolist() == [0, 3]
    assert records["partial_product_key"].astype(str).tolist() == ["7QJ2K", "CCCCC"]
    assert records["channel"].astype(str).tolist() == ["MAK", "MAK"]


def test_record_table_positions_skip_failed_and_keyless_hosts():
    fleet = [failed("srv-01"), host(1), host(2, record(Channel.MAK, ""), record(Channel.OEM, "ABCDE")), host(3, record())]

    records = build_frames(fleet).records

    assert records["host"].tolist() == [2, 3]
    assert records["partial_product_key"].astype(str).tolist() == ["ABCDE", "7QJ2K"]


def test_record_table_values_of_each_column():
    fleet = [
        host(
            1,
            record(Channel.KMS_CLIENT, "2YT43", LicenseStatus.OOB_GRACE, grace_minutes=None, kms_machine=""),
            record(Channel.MAK, "bbbbb", None, name="Office", grace_minutes=30),
            record(Channel.KMS_CLIENT, "2YT43", name="Office", kms_machine="kms02:1688"),
            kms_machine="kms01:1688",
        )
    ]

    records = build_frames(fleet).records

    assert records["status"].tolist() == [int(LicenseStatus.OOB_GRACE), NO_STATUS, int(LicenseStatus.LICENSED)]
    assert math.isnan(records["grace_minutes"].iloc[0])
    assert records["grace_minutes"].iloc[1:].tolist() == [30.0, 0.0]
    assert records["kms_machine"].astype(object).tolist() == ["kms01:1688", "kms01:1688", "kms02:1688"]
    assert records["partial_product_key"].astype(str).tolist() == ["2YT43", "BBBBB", "2YT43"]


def test_record_table_missing_kms_stays_missing():
    records = build_frames([host(1, record(Channel.MAK, "7QJ2K"))]).records

    assert records["kms_machine"].isna().tolist() == [True]


def test_categorical_columns_have_sorted_categories():
    fleet = [host(1, record(name="Zeta"), record(name="Alpha", partial_key="bbbbb"), record(name="Mu", partial_key="AAAAA"))]

    records = build_frames(fleet).records

    assert records["name"].cat.categories.tolist() == ["Alpha", "Mu", "Zeta"]
    assert records["partial_product_key"].cat.categories.tolist() == ["7QJ2K", "AAAAA", "BBBBB"]
    assert records["channel"].cat.categories.tolist() == [channel.value for channel in Channel]


def test_host_table_keeps_missing_text_as_none():
    hosts = build_frames([failed("srv-09", HostStatus.ERROR, error=None), host(1)]).hosts

    assert hosts["label"].tolist() == ["srv-09", "PC-0001"]
    assert hosts["error"].tolist() == [None, None]
    assert hosts["kms_machine"].tolist() == [None, None]
    assert hosts["status"].astype(str).tolist() == ["error", "ok"]
    assert hosts["has_state"].tolist() == [False, True]


def test_host_table_own_names_lower_case():
    fleet = [host(1, dns_host_name="PC-0001.Corp.Example"), host(2), failed("srv-01")]

    hosts = build_frames(fleet).hosts

    assert hosts["own_names"].tolist() == ["pc-0001 pc-0001.corp.example", "pc-0002", ""]


@pytest.mark.parametrize(
    "collected_at",
    [
        datetime(2026, 12, 1, 8, 30, 15, 250000),
        datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=timezone.utc),
        datetime(2026, 12, 1, 10, 30, 15, 250000, tzinfo=timezone(timedelta(hours=2))),
    ],
    ids=["naive", "utc", "plus-two-hours"],
)
def test_host_table_collection_time_in_utc(collected_at):
    hosts = build_frames([host(1, collected_at=collected_at)]).hosts

    assert hosts["collected_at"].iloc[0] == pd.Timestamp("2026-12-01T08:30:15.250000Z")


def test_empty_fleet_builds_empty_tables():
    frames = build_latest_frames([])

    assert frames.results == ()
    assert len(frames.hosts) == 0
    assert len(frames.records) == 0
    assert list(frames.records.columns) == [
        "host", "name", "channel", "partial_product_key", "status", "grace_minutes", "kms_machine"
    ]


def test_hosts_of_sorts_labels_per_key():
    fleet = [
        host(3, record(Channel.MAK, "7QJ2K", LicenseStatus.OOB_GRACE)),
        host(1, record(Channel.MAK, "7QJ2K")),
        host(2, record(Channel.MAK, "BBBBB"), record(Channel.MAK, "7QJ2K")),
    ]
    frames = build_frames(fleet)
    table = key_usage(frames, inventory(key()))

    installed = table.hosts_of(frames, ["7QJ2K", "BBBBB", "CCCCC"], licensed_only=False)
    activated = table.hosts_of(frames, ["7QJ2K"], licensed_only=True)

    assert installed == {"7QJ2K": ("PC-0001", "PC-0002", "PC-0003"), "BBBBB": ("PC-0002",), "CCCCC": ()}
    assert activated == {"7QJ2K": ("PC-0001", "PC-0002")}


def test_failed_host_without_error_message():
    result = analyse([failed("srv-09", HostStatus.ERROR, error=None)], None, DEFAULT_CONFIG, NOW)

    [finding] = result.findings
    assert finding.code == "HOST_UNREACHABLE"
    assert finding.message == "Collecting srv-09 failed (error): no reason was recorded."


@pytest.mark.parametrize(
    "uuid",
    ["00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "03000200-0400-0500-0006-000700080009", ""],
)
def test_placeholder_uuid_is_no_identity(uuid):
    identity = ComputerIdentity(name="PC-A", uuid=uuid)

    assert identity.host_key == "name:PC-A"
    assert machine_uuid_key(uuid) is None


def test_real_uuid_is_identity():
    assert ComputerIdentity(name="PC-A", uuid="4c4c4544-0042-3010-8052-b7c04f4e3332").host_key == "uuid:4C4C4544-0042-3010-8052-B7C04F4E3332"


def test_fqdn_and_short_name_are_one_host():
    assert ComputerIdentity(name="pc01.corp.example.test").host_key == ComputerIdentity(name="PC01").host_key
    assert ComputerIdentity(name="192.0.2.63").host_key == "name:192.0.2.63"
