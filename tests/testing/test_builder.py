"""Tests of the fleet builder: reproducibility, document rules, inventory categories and ground truth."""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from makaudit.model import HostStatus
from makaudit.testing.builder import (
    FaultKind,
    build_fleet,
    inventory_csv,
    loopback_addresses,
    write_fleet_files,
)
from makaudit.testing.builder_catalog import PRODUCT_KEY_ALPHABET, PUBLISHED_KEY_LAST_FIVES

NOW = datetime(2026, 12, 4, 19, 40, 0, tzinfo=timezone.utc)
HOSTS = 400
SEED = 7

INVENTORY_HEADER = [
    "key_id",
    "product",
    "partial_product_key",
    "allotment",
    "entitlement",
    "acquired",
    "rotate_by",
    "status",
    "custodian",
    "agreement",
    "notes",
]

PRODUCT_PROPERTIES = {
    "ID",
    "ApplicationID",
    "Name",
    "Description",
    "ProductKeyChannel",
    "PartialProductKey",
    "ProductKeyID",
    "LicenseStatus",
    "LicenseStatusReason",
    "GracePeriodRemaining",
    "EvaluationEndDate",
    "LicenseFamily",
    "KeyManagementServiceMachine",
    "KeyManagementServicePort",
    "DiscoveredKeyManagementServiceMachineName",
    "VLActivationTypeEnabled",
    "RemainingAppReArmCount",
    "RemainingSkuReArmCount",
}
SERVICE_PROPERTIES = {
    "Version",
    "ClientMachineID",
    "KeyManagementServiceMachine",
    "KeyManagementServicePort",
    "DiscoveredKeyManagementServiceMachineName",
    "IsKeyManagementServiceMachine",
    "VLActivationInterval",
    "VLRenewalInterval",
    "RemainingWindowsReArmCount",
    "OA3xOriginalProductKeyDescription",
}
COMPUTER_FIELDS = {"name", "dns_host_name", "domain", "os_caption", "os_version", "uuid", "ui_culture"}
DATE_PROPERTIES = {"EvaluationEndDate", "TrustedTime"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
FULL_KEY = re.compile(r"(?<![A-Z0-9])[A-Z0-9]{5}(?:-[A-Z0-9]{5}){4}(?![A-Z0-9])", re.IGNORECASE)
MAK_TOKENS = ("VOLUME_MAK channel", "RETAIL(MAK) channel")


@pytest.fixture(scope="module")
def fleet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    write_fleet_files(build_fleet(HOSTS, seed=SEED, faults="mixed", now=NOW), folder)
    return folder


@pytest.fixture(scope="module")
def fleet():
    return build_fleet(HOSTS, seed=SEED, faults="mixed", now=NOW)


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _documents(folder: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text("utf-8")) for path in sorted((folder / "documents").glob("*.json"))}


def _inventory(folder: Path) -> list[dict[str, str]]:
    with (folder / "inventory.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _check_document(name: str, document: dict) -> list[str]:
    """Return every rule of the endpoint document specification the document breaks."""
    problems: list[str] = []

    expected_top = {"format", "version", "collected_at", "computer", "service", "products", "ospp_products", "slmgr_dlv", "errors"}
    if set(document) != expected_top:
        problems.append(f"{name}: top-level keys {sorted(document)}")
    if document.get("format") != "makaudit-endpoint" or document.get("version") != 1:
        problems.append(f"{name}: format or version")
    if not ISO_UTC.match(str(document.get("collected_at"))):
        problems.append(f"{name}: collected_at {document.get('collected_at')!r}")
    if set(document.get("computer", {})) != COMPUTER_FIELDS:
        problems.append(f"{name}: computer fields {sorted(document.get('computer', {}))}")
    for field in ("products", "ospp_products", "errors"):
        if not isinstance(document.get(field), list):
            problems.append(f"{name}: {field} is not an array")
    if not isinstance(document.get("slmgr_dlv"), (str, type(None))):
        problems.append(f"{name}: slmgr_dlv is neither text nor null")

    service = document.get("service", {})
    missing_service = SERVICE_PROPERTIES - set(service)
    if missing_service:
        problems.append(f"{name}: service lacks {sorted(missing_service)}")
    if any(key.lower() == "oa3xoriginalproductkey" for key in service):
        problems.append(f"{name}: service carries OA3xOriginalProductKey")

    for product in document.get("products", []):
        missing = PRODUCT_PROPERTIES - set(product)
        if missing:
            problems.append(f"{name}: product lacks {sorted(missing)}")
        for key in ("LicenseStatus", "LicenseStatusReason", "GracePeriodRemaining", "KeyManagementServicePort"):
            if not isinstance(product.get(key), int) or isinstance(product.get(key), bool):
                problems.append(f"{name}: {key} is not a JSON integer")
        for key in DATE_PROPERTIES:
            value = product.get(key)
            if value is not None and not ISO_UTC.match(value):
                problems.append(f"{name}: {key} {value!r} is not ISO 8601 UTC")
        if not re.fullmatch(f"[{PRODUCT_KEY_ALPHABET}]{{5}}", product.get("PartialProductKey") or ""):
            problems.append(f"{name}: partial key {product.get('PartialProductKey')!r}")

    text = json.dumps(document, ensure_ascii=False)
    if FULL_KEY.search(text):
        problems.append(f"{name}: a 25-character product key appears")
    return problems


def test_same_seed_gives_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_fleet_files(build_fleet(150, seed=11, faults="mixed", now=NOW), first)
    write_fleet_files(build_fleet(150, seed=11, faults="mixed", now=NOW), second)

    first_files, second_files = _folder_bytes(first), _folder_bytes(second)
    assert sorted(first_files) == sorted(second_files)
    for name, content in first_files.items():
        assert content == second_files[name], name


def test_other_seed_differs(tmp_path: Path) -> None:
    write_fleet_files(build_fleet(150, seed=11, now=NOW), tmp_path / "a")
    write_fleet_files(build_fleet(150, seed=12, now=NOW), tmp_path / "b")

    assert (tmp_path / "a" / "ground-truth.json").read_bytes() != (tmp_path / "b" / "ground-truth.json").read_bytes()
    assert (tmp_path / "a" / "inventory.csv").read_bytes() != (tmp_path / "b" / "inventory.csv").read_bytes()
    assert (tmp_path / "a" / "documents" / "PC-0001.json").read_bytes() != (tmp_path / "b" / "documents" / "PC-0001.json").read_bytes()


def test_fault_mode_keeps_host_data() -> None:
    healthy = build_fleet(120, seed=5, faults="none", now=NOW)
    mixed = build_fleet(120, seed=5, faults="mixed", now=NOW)

    assert [machine.document for machine in healthy.machines] == [machine.document for machine in mixed.machines]
    assert healthy.faults == {}
    assert all(host.status is HostStatus.OK for host in healthy.ground_truth.hosts)


def test_documents_follow_specification(fleet_folder: Path) -> None:
    documents = _documents(fleet_folder)
    assert documents

    problems = [problem for name, document in documents.items() for problem in _check_document(name, document)]
    assert problems == []


def test_machine_documents_follow_specification(fleet) -> None:
    problems = [problem for machine in fleet.machines for problem in _check_document(machine.name, machine.document)]
    assert problems == []


def test_documents_only_for_collected_hosts(fleet_folder: Path, fleet) -> None:
    documents = _documents(fleet_folder)
    collected = {host.name for host in fleet.ground_truth.hosts if host.status is HostStatus.OK}
    assert set(documents) == collected


def test_slmgr_text_matches_document(fleet) -> None:
    for machine in fleet.machines:
        assert machine.document["slmgr_dlv"] == machine.slmgr_text
        for product in machine.document["products"]:
            assert f"{product['PartialProductKey']}\r\n" in machine.slmgr_text
            assert product["ID"] in machine.slmgr_text


def test_computer_identity(fleet) -> None:
    uuids = set()
    for index, machine in enumerate(fleet.machines, start=1):
        computer = machine.document["computer"]
        assert computer["name"] == f"PC-{index:04d}" == machine.name
        assert computer["dns_host_name"] == machine.name.lower()
        assert computer["domain"] == "corp.example.test"
        uuids.add(computer["uuid"])
    assert len(uuids) == len(fleet.machines)


def test_ground_truth_counts_match_documents(fleet_folder: Path) -> None:
    activated: dict[str, set[str]] = defaultdict(set)
    installed: dict[str, set[str]] = defaultdict(set)
    for document in _documents(fleet_folder).values():
        host = document["computer"]["uuid"]
        for product in document["products"]:
            if not product["Description"].endswith(MAK_TOKENS):
                continue
            bucket = activated if product["LicenseStatus"] == 1 else installed
            bucket[product["PartialProductKey"]].add(host)

    truth = json.loads((fleet_folder / "ground-truth.json").read_text("utf-8"))
    keys = {key["partial_product_key"]: key for key in truth["keys"]}
    for partial in set(activated) | set(installed):
        assert partial in keys, f"MAK {partial} on hosts is missing from the ground truth"
    for partial, key in keys.items():
        assert key["activated"] == len(activated[partial]), partial
        assert key["installed_not_activated"] == len(installed[partial] - activated[partial]), partial


def test_ground_truth_products_match_documents(fleet) -> None:
    for machine, host in zip(fleet.machines, fleet.ground_truth.hosts):
        assert host.name == machine.name
        assert host.target == machine.target
        products = machine.document["products"]
        assert [product.partial_product_key for product in host.products] == [p["PartialProductKey"] for p in products]
        assert [product.license_status_code for product in host.products] == [p["LicenseStatus"] for p in products]


def test_inventory_columns_and_values(fleet_folder: Path) -> None:
    with (fleet_folder / "inventory.csv").open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == INVENTORY_HEADER

    rows = _inventory(fleet_folder)
    for row in rows:
        assert row["status"] in {"active", "retired", "revoked", "compromised"}
        assert int(row["allotment"]) >= 1
        assert date.fromisoformat(row["acquired"]) < NOW.date()
        if row["rotate_by"]:
            date.fromisoformat(row["rotate_by"])
    assert len({row["key_id"] for row in rows}) == len(rows)


def test_inventory_categories_present(fleet_folder: Path) -> None:
    activated: dict[str, int] = defaultdict(int)
    installed: dict[str, int] = defaultdict(int)
    for document in _documents(fleet_folder).values():
        for product in document["products"]:
            if product["Description"].endswith(MAK_TOKENS):
                installed[product["PartialProductKey"]] += 1
                activated[product["PartialProductKey"]] += product["LicenseStatus"] == 1

    rows = _inventory(fleet_folder)
    inventory_keys = {row["partial_product_key"] for row in rows}

    def utilization(row: dict[str, str]) -> float:
        return activated[row["partial_product_key"]] / int(row["allotment"])

    assert any(utilization(row) > 1 for row in rows), "no over-used key"
    assert any(0.9 <= utilization(row) <= 1 for row in rows), "no key near its limit"
    assert any(0 < utilization(row) < 0.9 for row in rows), "no key with room"
    assert any(installed[row["partial_product_key"]] == 0 for row in rows), "no unused key"
    assert set(installed) - inventory_keys, "no MAK missing from the inventory"
    assert any(row["status"] == "revoked" and installed[row["partial_product_key"]] for row in rows), "no revoked key in use"
    assert any(row["status"] == "retired" and installed[row["partial_product_key"]] for row in rows), "no retired key in use"
    assert any(
        row["status"] == "active" and row["rotate_by"] and date.fromisoformat(row["rotate_by"]) < NOW.date() for row in rows
    ), "no key due for rotation"


def test_ground_truth_categories(fleet) -> None:
    truth = fleet.ground_truth
    for category in ("over_used", "near_limit", "room", "unused", "unknown", "revoked_in_use", "retired_in_use", "rotation_due"):
        assert truth.keys_in(category), category
    for key in truth.keys_in("unknown"):
        assert key.key_id is None
        assert key.allotment is None
        assert "MAK_UNKNOWN_KEY" in key.findings


def test_mak_partial_keys_are_free(fleet) -> None:
    partials = [key.partial_product_key for key in fleet.ground_truth.keys]
    assert len(set(partials)) == len(partials)
    for partial in partials:
        assert re.fullmatch(f"[{PRODUCT_KEY_ALPHABET}]{{5}}", partial)
        assert partial not in PUBLISHED_KEY_LAST_FIVES


def test_mixed_faults(fleet) -> None:
    faults = fleet.faults
    assert 0.08 * HOSTS <= len(faults) <= 0.12 * HOSTS
    assert set(faults.values()) == set(FaultKind)

    by_name = {machine.name: machine for machine in fleet.machines}
    for name, kind in faults.items():
        host = fleet.ground_truth.host(name)
        assert host.status is kind.expected_status
        assert host.reason == kind.value
        assert by_name[name].faults == kind.host_faults()
    for name in faults:
        if faults[name] is FaultKind.WMI_BROKEN:
            assert not any(product.channel == "MAK" for product in fleet.ground_truth.host(name).products)


def test_unhealthy_hosts_do_not_count(fleet) -> None:
    unhealthy = {host.name for host in fleet.ground_truth.hosts if host.status is not HostStatus.OK}
    assert unhealthy
    for key in fleet.ground_truth.keys:
        assert not unhealthy & set(key.activated_hosts)
        assert not unhealthy & set(key.installed_hosts)
    for name in unhealthy:
        assert fleet.ground_truth.host(name).findings == ("HOST_UNREACHABLE",)


def test_targets_file(fleet_folder: Path, fleet) -> None:
    lines = (fleet_folder / "targets.txt").read_text("utf-8").splitlines()
    assert lines == [machine.target for machine in fleet.machines]


def test_addresses_stay_on_loopback(fleet) -> None:
    network = ipaddress.IPv4Network("127.0.0.0/8")
    addresses = [ipaddress.IPv4Address(machine.address) for machine in fleet.machines]
    assert all(address in network for address in addresses)
    assert len(set(addresses)) == len(addresses)
    assert all(machine.port == 5985 for machine in fleet.machines)


def test_addresses_skip_zero_and_broadcast() -> None:
    addresses = loopback_addresses("127.0.20.250", 8)
    assert addresses == [
        "127.0.20.250",
        "127.0.20.251",
        "127.0.20.252",
        "127.0.20.253",
        "127.0.20.254",
        "127.0.21.1",
        "127.0.21.2",
        "127.0.21.3",
    ]


def test_addresses_from_network_address_skip_it() -> None:
    assert loopback_addresses("127.0.21.0", 2) == ["127.0.21.1", "127.0.21.2"]


@pytest.mark.parametrize("hosts", [0, -3])
def test_rejects_too_few_hosts(hosts: int) -> None:
    with pytest.raises(ValueError, match="hosts must be an integer of at least 1"):
        build_fleet(hosts)


@pytest.mark.parametrize("hosts", [True, 2.5, "10"])
def test_rejects_host_count_of_wrong_type(hosts: object) -> None:
    with pytest.raises(ValueError, match="hosts must be an integer"):
        build_fleet(hosts)  # type: ignore[arg-type]


@pytest.mark.parametrize("base", ["10.0.0.1", "192.168.1.10", "128.0.0.1", "0.0.0.0"])
def test_rejects_non_loopback_base(base: str) -> None:
    with pytest.raises(ValueError, match="outside the loopback network 127.0.0.0/8"):
        build_fleet(3, base_address=base)


@pytest.mark.parametrize("base", ["::1", "localhost", "127.0.0", ""])
def test_rejects_base_that_is_not_ipv4(base: str) -> None:
    with pytest.raises(ValueError, match="is not an IPv4 address"):
        build_fleet(3, base_address=base)


def test_rejects_addresses_past_loopback_end() -> None:
    with pytest.raises(ValueError, match="do not fit in 127.0.0.0/8"):
        loopback_addresses("127.255.255.250", 10)


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_rejects_bad_port(port: int) -> None:
    with pytest.raises(ValueError, match="port must be an integer from 1 to 65535"):
        build_fleet(3, port=port)


def test_rejects_unknown_fault_mode() -> None:
    with pytest.raises(ValueError, match="faults must be one of none, mixed"):
        build_fleet(3, faults="all")


def test_rejects_seed_of_wrong_type() -> None:
    with pytest.raises(ValueError, match="seed must be an integer"):
        build_fleet(3, seed="1")  # type: ignore[arg-type]


def test_single_host_fleet(tmp_path: Path) -> None:
    fleet = build_fleet(1, seed=3, faults="mixed", now=NOW)
    write_fleet_files(fleet, tmp_path)

    assert len(fleet.machines) == 1
    assert len(fleet.faults) == 1
    assert (tmp_path / "targets.txt").read_text("utf-8") == "127.0.20.1:5985\n"


def test_naive_now_is_utc() -> None:
    naive = build_fleet(2, seed=4, now=datetime(2026, 12, 4, 19, 40, 0))
    aware = build_fleet(2, seed=4, now=NOW)
    assert [machine.document for machine in naive.machines] == [machine.document for machine in aware.machines]
    assert naive.machines[0].document["collected_at"] == "2026-12-04T19:40:00Z"


def test_inventory_csv_quotes_notes() -> None:
    rows = [dict.fromkeys(INVENTORY_HEADER, "") | {"key_id": "K-1", "notes": 'a "quoted", note'}]
    text = inventory_csv(rows)
    parsed = list(csv.DictReader(text.splitlines()))
    assert parsed[0]["notes"] == 'a "quoted", note'


def test_analysis_agrees_with_ground_truth(fleet_folder: Path, fleet) -> None:
    from makaudit.analysis.engine import analyse
    from makaudit.config import AuditConfig
    from makaudit.inventory import load_inventory
    from makaudit.model import HostResult
    from makaudit.parsing.detect import parse_file

    results = [
        HostResult(target=path.stem, status=HostStatus.OK, state=state)
        for path in sorted((fleet_folder / "documents").glob("*.json"))
        for state in parse_file(path)
    ]
    config = AuditConfig(approved_kms_hosts=fleet.ground_truth.approved_kms_hosts, grace_warning_days=3)
    result = analyse(results, load_inventory(fleet_folder / "inventory.csv"), config, NOW)

    truth = {key.partial_product_key: key for key in fleet.ground_truth.keys}
    assert {usage.partial_product_key for usage in result.keys} == set(truth)
    for usage in result.keys:
        expected = truth[usage.partial_product_key]
        assert (usage.key_id, usage.activated, usage.installed_not_activated) == (
            expected.key_id,
            expected.activated,
            expected.installed_not_activated,
        ), usage.partial_product_key

    key_codes = {code for key in fleet.ground_truth.keys for code in key.findings}
    assert {finding.code for finding in result.findings if finding.code.startswith("MAK_")} == key_codes

    host_codes: dict[str, set[str]] = defaultdict(set)
    for finding in result.findings:
        if finding.host and finding.code in {"HOST_NOT_ACTIVATED", "HOST_GRACE_ENDING", "KMS_UNAPPROVED_HOST"}:
            host_codes[finding.host].add(finding.code)
    for host in fleet.ground_truth.hosts:
        if host.status is HostStatus.OK:
            assert host_codes[host.name] == set(host.findings), host.name
