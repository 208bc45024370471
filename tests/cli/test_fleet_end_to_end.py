"""makaudit as a process against the emulated fleet: scan, import, history, interruption.

The fleet runs in the test process on loopback. makaudit runs as a child process
with the real pywinrm or pypsrp client, exactly as an administrator runs it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from makaudit.testing.builder import build_fleet, write_fleet_files
from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults

REPO = Path(__file__).resolve().parents[2]


def makaudit_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "makaudit", *args]


def makaudit_env(password: str | None = None) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKAUDIT_")}
    if password is not None:
        environment["MAKAUDIT_PASSWORD"] = password
    return environment


def run_makaudit(*args: str, password: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(makaudit_command(*args), capture_output=True, text=True, env=makaudit_env(password), cwd=REPO, timeout=timeout)


def wait_for_stored_hosts(database: Path, count: int, seconds: float = 60) -> int:
    """Poll the history database until it contains ``count`` host results or ``seconds`` pass; return the count."""
    stored = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and stored < count:
        time.sleep(0.2)
        if not database.exists():
            continue
        try:
            with sqlite3.connect(database, timeout=5) as connection:
                stored = connection.execute("select count(*) from host_results").fetchone()[0]
        except sqlite3.OperationalError:
            stored = 0
    return stored


def expected_key_counts(ground_truth: dict) -> dict[str, tuple[int, int]]:
    """Counts per partial key; an unknown MAK installed only on faulty hosts is never seen, so it is left out."""
    counts = {}
    for key in ground_truth["keys"]:
        seen = key["activated"] or key["installed_not_activated"]
        if key["key_id"] is not None or seen:
            counts[key["partial_product_key"]] = (key["activated"], key["installed_not_activated"])
    return counts


def reported_key_counts(document: dict) -> dict[str, tuple[int, int]]:
    return {key["partial_product_key"]: (key["activated"], key["installed_not_activated"]) for key in document["keys"]}


@pytest.mark.parametrize(
    ("transport", "https", "base"),
    [("winrm", False, "127.0.41.1"), ("psrp", False, "127.0.42.1"), ("winrm", True, "127.0.43.1")],
)
def test_scan_of_fleet_matches_ground_truth(tmp_path, transport, https, base):
    fleet = build_fleet(30, seed=11, base_address=base, faults="mixed")
    write_fleet_files(fleet, tmp_path / "fleet")
    truth = fleet.ground_truth.to_dict()

    with FleetServer(fleet.machines, https=https) as server:
        arguments = [
            "scan", "--targets", str(tmp_path / "fleet" / "targets.txt"),
            "--transport", transport, "--username", server.username,
            "--inventory", str(tmp_path / "fleet" / "inventory.csv"),
            "--db", str(tmp_path / "history.sqlite"),
            "--timeout", "8", "--connect-timeout", "3", "--workers", "8", "--json",
        ]
        if https:
            arguments += ["--https", "--port", "5985", "--ca-bundle", str(server.ca_bundle_path)]
        completed = run_makaudit(*arguments, password=server.password)

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    statuses = {host["target"]: host["status"] for host in document["hosts"]}
    assert statuses == {host["target"]: host["status"] for host in truth["hosts"]}
    assert reported_key_counts(document) == expected_key_counts(truth)
    assert server.password not in completed.stdout + completed.stderr


def test_scan_over_https_without_ca_bundle_fails_validation(tmp_path):
    fleet = build_fleet(2, seed=2, base_address="127.0.44.1")

    with FleetServer(fleet.machines, https=True) as server:
        targets = [machine.target for machine in fleet.machines]
        completed = run_makaudit(
            "scan", *targets, "--https", "--username", server.username, "--db", str(tmp_path / "h.sqlite"), "--json", "--timeout", "10",
            password=server.password,
        )

    assert completed.returncode == 3, completed.stderr
    hosts = json.loads(completed.stdout)["hosts"]
    assert [host["status"] for host in hosts] == ["error", "error"]
    assert all("certificate" in host["error"].lower() for host in hosts)


def test_import_of_fleet_documents_reproduces_ground_truth(tmp_path):
    fleet = build_fleet(120, seed=5, base_address="127.0.45.1")
    write_fleet_files(fleet, tmp_path / "fleet")
    truth = fleet.ground_truth.to_dict()

    completed = run_makaudit(
        "import", str(tmp_path / "fleet" / "documents"), "--inventory", str(tmp_path / "fleet" / "inventory.csv"), "--json", "--no-store"
    )

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert len(document["hosts"]) == 120
    assert reported_key_counts(document) == expected_key_counts(truth)
    finding_codes = {finding["code"] for finding in document["findings"]}
    assert {"MAK_OVERUSE", "MAK_NEAR_LIMIT", "MAK_UNKNOWN_KEY", "MAK_REVOKED_KEY_IN_USE", "MAK_RETIRED_KEY_IN_USE"} <= finding_codes


def _with_document(machine, **changes):
    document = json.loads(json.dumps(machine.document))
    document.update(changes)
    return dataclasses.replace(machine, document=document)


def _swap_first_mak(machine, partial_key: str):
    document = json.loads(json.dumps(machine.document))
    for product in document["products"]:
        if product.get("ProductKeyChannel") == "Volume:MAK" or "VOLUME_MAK" in (product.get("Description") or ""):
            product["PartialProductKey"] = partial_key
            break
    else:
        raise AssertionError(f"{machine.name} has no Windows MAK to swap")
    return dataclasses.replace(machine, document=document)


def test_two_scans_give_history_trends_and_stale_hosts(tmp_path):
    now = datetime.now(timezone.utc)
    old = now - timedelta(days=30)
    fleet = build_fleet(12, seed=21, base_address="127.0.46.1", now=old)
    write_fleet_files(fleet, tmp_path / "fleet")
    truth = fleet.ground_truth.to_dict()
    inventory = tmp_path / "fleet" / "inventory.csv"
    database = tmp_path / "history.sqlite"

    mak_hosts = [host for host in truth["hosts"] if any(p["channel"] == "MAK" and p["key_id"] and p["license_status"] == "Licensed" and p["application"] == "Windows" for p in host["products"])]
    assert len(mak_hosts) >= 2, "the seed must give two Windows MAK hosts"
    gone_name, swapped_name = mak_hosts[0]["name"], mak_hosts[1]["name"]
    swapped_from = next(p for p in mak_hosts[1]["products"] if p["channel"] == "MAK" and p["application"] == "Windows")
    new_key = next(
        key
        for key in truth["keys"]
        if key["key_id"]
        and key["key_status"] == "active"
        and key["partial_product_key"] != swapped_from["partial_product_key"]
        and key["product"].startswith("Windows")
        and gone_name not in key["activated_hosts"] + key["installed_hosts"]
    )

    first = fleet.machines
    with FleetServer(first) as server:
        scan1 = run_makaudit(
            "scan", *[m.target for m in first], "--username", server.username, "--db", str(database), "--inventory", str(inventory), "--json",
            password=server.password,
        )
    assert scan1.returncode == 0, scan1.stderr

    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    second = []
    for machine in first:
        if machine.name == gone_name:
            continue
        if machine.name == swapped_name:
            machine = _swap_first_mak(machine, new_key["partial_product_key"])
        second.append(_with_document(machine, collected_at=stamp))
    with FleetServer(second) as server:
        scan2 = run_makaudit(
            "scan", *[m.target for m in second], "--username", server.username, "--db", str(database), "--inventory", str(inventory), "--json",
            password=server.password,
        )
    assert scan2.returncode == 0, scan2.stderr

    report = json.loads(run_makaudit("report", "--db", str(database), "--inventory", str(inventory), "--json").stdout)
    stale = [finding for finding in report["findings"] if finding["code"] == "HOST_STALE"]
    assert [finding["host"] for finding in stale] == [gone_name]
    assert len(report["hosts"]) == 12

    new_key_history = json.loads(run_makaudit("history", "--db", str(database), "--inventory", str(inventory), "--key", new_key["key_id"], "--json").stdout)
    usage = new_key_history["key_usage"]
    assert len(usage) == 2
    assert usage[1]["activated"] == usage[0]["activated"] + 1
    assert swapped_name in usage[1]["hosts_added"]

    old_key_history = json.loads(
        run_makaudit("history", "--db", str(database), "--key", swapped_from["partial_product_key"], "--json").stdout
    )
    assert swapped_name in old_key_history["key_usage"][1]["hosts_removed"]

    host_history = json.loads(run_makaudit("history", "--db", str(database), "--host", swapped_name, "--json").stdout)
    keys_per_scan = [
        {license["partial_product_key"] for license in entry["licenses"] if license["channel"] == "MAK"} for entry in host_history["host_records"]
    ]
    assert swapped_from["partial_product_key"] in keys_per_scan[0]
    assert new_key["partial_product_key"] in keys_per_scan[1]


def test_killed_scan_keeps_finished_hosts(tmp_path):
    fleet = build_fleet(16, seed=9, base_address="127.0.47.1")
    machines = [dataclasses.replace(machine, faults=HostFaults(script_seconds=0.6)) for machine in fleet.machines]
    database = tmp_path / "history.sqlite"

    with FleetServer(machines) as server:
        process = subprocess.Popen(
            makaudit_command("scan", *[m.target for m in machines], "--username", server.username, "--db", str(database), "--workers", "2"),
            env=makaudit_env(server.password), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            stored = wait_for_stored_hosts(database, 4)
            assert process.poll() is None, "the scan finished before it could be killed"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    history = json.loads(run_makaudit("history", "--db", str(database), "--json").stdout)
    assert len(history["scans"]) == 1
    scan = history["scans"][0]
    assert scan["status"] == "interrupted"
    assert scan["hosts"] >= stored >= 4
    assert scan["ok"] == scan["hosts"]


def test_scheduled_scan_from_configuration_file(tmp_path):
    fleet = build_fleet(10, seed=11, base_address="127.0.48.1")
    write_fleet_files(fleet, tmp_path / "fleet")
    (tmp_path / "reports").mkdir()

    with FleetServer(fleet.machines) as server:
        config = tmp_path / "makaudit.toml"
        config.write_text(
            "[scan]\n"
            'targets = "fleet/targets.txt"\n'
            f"username = {json.dumps(server.username)}\n"
            "timeout = 30\n"
            "[inventory]\n"
            'path = "fleet/inventory.csv"\n'
            "[history]\n"
            'db = "history.sqlite"\n'
            "[reports]\n"
            'xlsx = "reports/audit-{date}.xlsx"\n'
            "[thresholds]\n"
            'fail_on = "critical"\n'
            "[logging]\n"
            'file = "logs/makaudit.log"\n',
            encoding="utf-8",
        )
        completed = subprocess.run(
            makaudit_command("scan", "--config", str(config)),
            capture_output=True, text=True, env=makaudit_env(server.password), cwd=REPO, timeout=180,
        )

    overused = [key for key in fleet.ground_truth.to_dict()["keys"] if key["allotment"] is not None and key["activated"] > key["allotment"]]
    assert completed.returncode == (1 if overused else 0), completed.stderr
    assert len(list((tmp_path / "reports").glob("audit-2*.xlsx"))) == 1
    assert (tmp_path / "history.sqlite").exists()
    log = (tmp_path / "logs" / "makaudit.log").read_text(encoding="utf-8")
    assert log.count(": ok in ") == 10
    assert server.password not in log


def test_host_card_live_then_cached(tmp_path):
    fleet = build_fleet(6, seed=11, base_address="127.0.49.1")
    write_fleet_files(fleet, tmp_path / "fleet")
    inventory = str(tmp_path / "fleet" / "inventory.csv")
    database = str(tmp_path / "history.sqlite")
    truth = fleet.ground_truth.to_dict()
    host = next(host for host in truth["hosts"] if any(product["key_id"] for product in host["products"]))
    key_id = next(product["key_id"] for product in host["products"] if product["key_id"])

    with FleetServer(fleet.machines) as server:
        live = run_makaudit("host", host["target"], "--username", server.username, "--inventory", inventory, "--db", database, password=server.password)
        live_json = run_makaudit(
            "host", host["target"], "--username", server.username, "--inventory", inventory, "--db", database, "--json", password=server.password
        )
    cached = run_makaudit("host", host["name"], "--cached", "--inventory", inventory, "--db", database)
    address = host["target"].rsplit(":", 1)[0]
    by_address = run_makaudit("history", "--host", address, "--db", database, "--json")

    assert live.returncode == 0, live.stderr
    assert host["name"] in live.stdout
    assert key_id in live.stdout
    document = json.loads(live_json.stdout)
    assert [entry["computer_name"] for entry in document["hosts"]] == [host["name"]]
    assert {license["partial_product_key"] for license in document["hosts"][0]["licenses"]} == {
        product["partial_product_key"] for product in host["products"]
    }
    assert cached.returncode == 0, cached.stderr
    assert key_id in cached.stdout
    assert by_address.returncode == 0, by_address.stderr
    assert len(json.loads(by_address.stdout)["host_records"]) == 2


def test_interrupted_scan_writes_no_reports_and_exits_3(tmp_path):
    fleet = build_fleet(12, seed=9, base_address="127.0.50.1")
    machines = [dataclasses.replace(machine, faults=HostFaults(script_seconds=0.6)) for machine in fleet.machines]
    database = tmp_path / "history.sqlite"
    report = tmp_path / "report.xlsx"

    with FleetServer(machines) as server:
        process = subprocess.Popen(
            makaudit_command(
                "scan", *[m.target for m in machines], "--username", server.username, "--db", str(database), "--workers", "1",
                "--xlsx", str(report), "--log-file", str(tmp_path / "makaudit.log"),
            ),
            env=makaudit_env(server.password), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        wait_for_stored_hosts(database, 2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)

    assert process.returncode == 3, stderr
    assert "scan interrupted" in stderr
    assert not report.exists()
    history = json.loads(run_makaudit("history", "--db", str(database), "--json").stdout)
    assert history["scans"][0]["status"] == "interrupted"
    assert history["scans"][0]["hosts"] >= 2
    assert "scan interrupted" in (tmp_path / "makaudit.log").read_text(encoding="utf-8")
