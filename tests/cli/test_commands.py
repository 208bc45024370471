"""The commands as a user runs them: a real process, exit statuses, stdout and stderr."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from makaudit.testing.pytest_plugin import sample_document

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

VALID_INVENTORY = """key_id,product,partial_product_key,allotment,entitlement,acquired,rotate_by,status,custodian,agreement,notes
WIN-ENT-A,Windows 11 Enterprise,7QJ2K,1,1,2024-01-15,,active,IT,EA-1,
"""


def run_makaudit(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKAUDIT_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "makaudit", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd or REPO,
        timeout=timeout,
    )


def endpoint_document(name: str, partial_key: str = "7QJ2K") -> dict:
    """A Windows 11 Enterprise host activated with the MAK ending in ``partial_key``."""
    document = sample_document(name)
    document["products"][0]["PartialProductKey"] = partial_key
    document["slmgr_dlv"] = None
    return document


@pytest.fixture
def two_hosts(tmp_path: Path) -> Path:
    folder = tmp_path / "collected"
    folder.mkdir()
    for name in ("PC-0001", "PC-0002"):
        (folder / f"{name}.json").write_text(json.dumps(endpoint_document(name)), encoding="utf-8")
    return folder


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.csv"
    path.write_text(VALID_INVENTORY, encoding="utf-8")
    return path


def test_import_examples_prints_contract_json(tmp_path):
    completed = run_makaudit("import", str(EXAMPLES), "--json", "--db", str(tmp_path / "h.sqlite"))

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert set(document) >= {"generated_at", "hosts", "keys", "findings"}
    assert len(document["hosts"]) >= 5
    statuses = {host["status"] for host in document["hosts"]}
    assert statuses <= {"ok", "unreachable", "auth_failed", "timeout", "error"}
    for host in document["hosts"]:
        for license in host["licenses"]:
            assert license["channel"] in {"MAK", "KMS_CLIENT", "KMS_HOST", "RETAIL", "OEM", "AVMA", "EVAL", "SUBSCRIPTION", "UNKNOWN"}
            assert license["partial_product_key"] is None or len(license["partial_product_key"]) == 5


def test_import_counts_overuse_and_fails_on_critical(two_hosts, inventory, tmp_path):
    completed = run_makaudit(
        "import", str(two_hosts), "--inventory", str(inventory), "--json", "--fail-on", "critical", "--db", str(tmp_path / "h.sqlite")
    )

    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    key = next(key for key in document["keys"] if key["key_id"] == "WIN-ENT-A")
    assert key["activated"] == 2
    assert key["remaining"] == -1
    assert any(finding["code"] == "MAK_OVERUSE" for finding in document["findings"])


def test_import_reports_corrupt_file_and_keeps_others(two_hosts, tmp_path):
    (two_hosts / "broken.json").write_text('{"format": "makaudit-endpoint", "version": 1, "computer": ', encoding="utf-8")

    completed = run_makaudit("import", str(two_hosts), "--json", "--no-store")

    assert completed.returncode == 0, completed.stderr
    assert "broken.json" in completed.stderr
    document = json.loads(completed.stdout)
    ok_hosts = [host for host in document["hosts"] if host["status"] == "ok"]
    failed = [host for host in document["hosts"] if host["status"] == "error"]
    assert len(ok_hosts) == 2
    assert len(failed) == 1
    assert "broken.json" in failed[0]["target"]


def test_import_of_nothing_readable_exits_2(tmp_path):
    (tmp_path / "noise.txt").write_text("hello world\n", encoding="utf-8")

    completed = run_makaudit("import", str(tmp_path / "noise.txt"), "--no-store")

    assert completed.returncode == 2
    assert "could be read" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_import_missing_path_exits_2(tmp_path):
    completed = run_makaudit("import", str(tmp_path / "absent"), "--no-store")

    assert completed.returncode == 2
    assert "absent" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_unknown_option_exits_2():
    completed = run_makaudit("import", str(EXAMPLES), "--frobnicate")

    assert completed.returncode == 2
    assert "--frobnicate" in completed.stderr
    assert "makaudit import --help" in completed.stderr


def test_json_output_is_alone_on_stdout(two_hosts, tmp_path):
    completed = run_makaudit("import", str(two_hosts), "--json", "--log-level", "info", "--db", str(tmp_path / "h.sqlite"))

    assert completed.returncode == 0, completed.stderr
    json.loads(completed.stdout)


def test_report_path_in_missing_folder_exits_2_before_storing(two_hosts, tmp_path):
    database = tmp_path / "h.sqlite"

    completed = run_makaudit("import", str(two_hosts), "--db", str(database), "--xlsx", str(tmp_path / "nowhere" / "r.xlsx"))

    assert completed.returncode == 2
    assert "nowhere" in completed.stderr
    assert not database.exists()


def test_invalid_inventory_exits_2_with_line_numbers(two_hosts, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "key_id,product,partial_product_key,allotment,acquired,status\n"
        "A,Windows,7QJ2K,-5,2024-01-01,active\n"
        "B,Windows,NOPE,10,2024-13-40,lost\n",
        encoding="utf-8",
    )

    check = run_makaudit("inventory", "check", str(bad))
    imported = run_makaudit("import", str(two_hosts), "--inventory", str(bad), "--no-store")

    assert check.returncode == 2
    assert "line 2" in check.stdout
    assert "line 3" in check.stdout
    assert imported.returncode == 2
    assert "line 3" in imported.stderr


def test_valid_inventory_check_exits_0(inventory):
    completed = run_makaudit("inventory", "check", str(inventory))

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 key" in completed.stdout


def test_corrupt_database_exits_3(two_hosts, tmp_path):
    database = tmp_path / "h.sqlite"
    database.write_bytes(b"this is not a database" * 100)

    completed = run_makaudit("import", str(two_hosts), "--db", str(database))

    assert completed.returncode == 3
    assert str(database) in completed.stderr
    assert "Traceback" not in completed.stderr


def test_database_from_environment(two_hosts, tmp_path):
    database = tmp_path / "env.sqlite"

    completed = run_makaudit("import", str(two_hosts), "--json", env={"MAKAUDIT_DB": str(database)})

    assert completed.returncode == 0, completed.stderr
    assert database.exists()
    with sqlite3.connect(database) as connection:
        assert connection.execute("select count(*) from scans").fetchone()[0] == 1


def test_report_and_history_read_stored_imports(two_hosts, inventory, tmp_path):
    database = tmp_path / "h.sqlite"
    run_makaudit("import", str(two_hosts), "--db", str(database), "--json")
    run_makaudit("import", str(two_hosts), "--db", str(database), "--json")
    xlsx = tmp_path / "report-{date}.xlsx"
    html = tmp_path / "report.html"

    report = run_makaudit("report", "--db", str(database), "--inventory", str(inventory), "--xlsx", str(xlsx), "--html", str(html))
    history = run_makaudit("history", "--db", str(database), "--json")
    key_history = run_makaudit("history", "--db", str(database), "--inventory", str(inventory), "--key", "WIN-ENT-A", "--json")

    assert report.returncode == 0, report.stderr
    assert len(list(tmp_path.glob("report-2*.xlsx"))) == 1
    assert html.exists()
    assert history.returncode == 0, history.stderr
    assert len(json.loads(history.stdout)["scans"]) == 2
    usage = json.loads(key_history.stdout)["key_usage"]
    assert [row["activated"] for row in usage] == [2, 2]


def test_report_without_database_exits_3_and_creates_nothing(tmp_path):
    database = tmp_path / "missing" / "h.sqlite"

    completed = run_makaudit("report", "--db", str(database))

    assert completed.returncode == 3
    assert "no history database" in completed.stderr
    assert not database.parent.exists()


def test_history_of_unknown_host_exits_2(two_hosts, tmp_path):
    database = tmp_path / "h.sqlite"
    run_makaudit("import", str(two_hosts), "--db", str(database))

    completed = run_makaudit("history", "--db", str(database), "--host", "PC-9999")

    assert completed.returncode == 2
    assert "PC-9999" in completed.stderr


def test_report_to_fifo_is_rejected(two_hosts, tmp_path):
    database = tmp_path / "h.sqlite"
    run_makaudit("import", str(two_hosts), "--db", str(database))
    fifo = tmp_path / "report.xlsx"
    os.mkfifo(fifo)

    completed = run_makaudit("report", "--db", str(database), "--xlsx", str(fifo))

    assert completed.returncode == 2
    assert "not a regular file" in completed.stderr
    assert fifo.is_fifo()


def test_host_from_file_shows_card(tmp_path, inventory):
    path = tmp_path / "pc.json"
    path.write_text(json.dumps(endpoint_document("PC-0042")), encoding="utf-8")

    completed = run_makaudit("host", "PC-0042", "--from-file", str(path), "--inventory", str(inventory), "--db", str(tmp_path / "h.sqlite"))

    assert completed.returncode == 0, completed.stderr
    assert "PC-0042" in completed.stdout
    assert "7QJ2K" in completed.stdout
    assert "WIN-ENT-A" in completed.stdout


def test_host_cached_unknown_host_exits_2(two_hosts, tmp_path):
    database = tmp_path / "h.sqlite"
    run_makaudit("import", str(two_hosts), "--db", str(database))

    completed = run_makaudit("host", "PC-9999", "--cached", "--db", str(database))

    assert completed.returncode == 2
    assert "PC-9999" in completed.stderr


def test_host_from_file_with_other_name_exits_2(tmp_path):
    path = tmp_path / "pc.json"
    path.write_text(json.dumps(endpoint_document("PC-0042")), encoding="utf-8")

    completed = run_makaudit("host", "PC-0777", "--from-file", str(path), "--db", str(tmp_path / "h.sqlite"))

    assert completed.returncode == 2
    assert "PC-0042" in completed.stderr
    assert "PC-0777" in completed.stderr


def test_scan_without_targets_exits_2(tmp_path):
    completed = run_makaudit("scan", "--username", "auditor", "--db", str(tmp_path / "h.sqlite"), env={"MAKAUDIT_PASSWORD": "x"})

    assert completed.returncode == 2
    assert "no targets" in completed.stderr


def test_scan_where_no_host_answers_exits_3(tmp_path):
    completed = run_makaudit(
        "scan", "127.0.0.1:9", "127.0.0.2:9", "--username", "auditor", "--db", str(tmp_path / "h.sqlite"), "--json", "--timeout", "5",
        env={"MAKAUDIT_PASSWORD": "x"},
    )

    assert completed.returncode == 3
    assert "none of the 2 target(s) could be collected" in completed.stderr
    hosts = json.loads(completed.stdout)["hosts"]
    assert [host["status"] for host in hosts] == ["unreachable", "unreachable"]


def test_scan_refuses_basic_over_http(tmp_path):
    completed = run_makaudit(
        "scan", "127.0.0.1:9", "--auth", "basic", "--username", "auditor", "--db", str(tmp_path / "h.sqlite"), env={"MAKAUDIT_PASSWORD": "x"}
    )

    assert completed.returncode == 2
    assert "--allow-unencrypted" in completed.stderr


def test_scan_without_password_and_terminal_exits_2(tmp_path):
    completed = run_makaudit("scan", "127.0.0.1:9", "--username", "auditor", "--db", str(tmp_path / "h.sqlite"))

    assert completed.returncode == 2
    assert "MAKAUDIT_PASSWORD" in completed.stderr


def test_ca_bundle_without_certificate_exits_2(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n", encoding="utf-8")

    completed = run_makaudit(
        "scan", "127.0.0.1:9", "--https", "--ca-bundle", str(bundle), "--username", "auditor", "--db", str(tmp_path / "h.sqlite"),
        env={"MAKAUDIT_PASSWORD": "x"},
    )

    assert completed.returncode == 2
    assert "no PEM certificate" in completed.stderr


def test_failed_run_reaches_log_file(two_hosts, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("key_id,product\nA,Windows\n", encoding="utf-8")
    log = tmp_path / "logs" / "makaudit.log"

    completed = run_makaudit("import", str(two_hosts), "--inventory", str(bad), "--no-store", "--log-file", str(log))

    assert completed.returncode == 2
    text = log.read_text(encoding="utf-8")
    assert "exit status 2" in text
    assert "bad.csv" in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--workers", "2000"], "more than the maximum"),
        (["--timeout", "nan"], "not a finite number"),
        (["--timeout", "inf"], "not a finite number"),
        (["--auth", "negotiate"], "not available with --transport winrm"),
    ],
)
def test_scan_rejects_bad_limits_before_recording(tmp_path, arguments, expected):
    database = tmp_path / "h.sqlite"

    completed = run_makaudit("scan", "127.0.0.1:9", "--username", "auditor", "--db", str(database), *arguments, env={"MAKAUDIT_PASSWORD": "x"})

    assert completed.returncode == 2
    assert expected in completed.stderr
    assert not database.exists()


def test_history_key_error_never_repeats_full_key(tmp_path, two_hosts):
    database = tmp_path / "h.sqlite"
    run_makaudit("import", str(two_hosts), "--db", str(database))

    completed = run_makaudit("history", "--db", str(database), "--key", "NPPR9-FWDCX-D2C8J-H872K-2YT43")

    assert completed.returncode == 2
    assert "NPPR9" not in completed.stderr
    assert "2YT43" in completed.stderr


def test_overlong_report_path_exits_2(tmp_path):
    completed = run_makaudit("import", str(EXAMPLES), "--no-store", "--html", str(tmp_path / ("a" * 300 + ".html")))

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr


def test_history_options_from_environment(two_hosts, tmp_path):
    database = tmp_path / "h.sqlite"
    run_makaudit("import", str(two_hosts), "--db", str(database))

    completed = run_makaudit("history", "--json", env={"MAKAUDIT_DB": str(database), "MAKAUDIT_HOST": "PC-0001"})

    assert completed.returncode == 0, completed.stderr
    assert len(json.loads(completed.stdout)["host_records"]) == 1


def test_endpoint_that_is_not_winrm_gets_clear_error(tmp_path):
    import http.server
    import threading

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"hello"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = f"127.0.0.1:{server.server_address[1]}"
        completed = run_makaudit(
            "scan", target, "--auth", "basic", "--allow-unencrypted", "--username", "auditor", "--json", "--timeout", "10",
            "--db", str(tmp_path / "h.sqlite"), env={"MAKAUDIT_PASSWORD": "x"},
        )
    finally:
        server.shutdown()
        server.server_close()

    assert completed.returncode == 3
    [host] = json.loads(completed.stdout)["hosts"]
    assert host["status"] == "error"
    assert "did not answer as a WinRM service" in host["error"]


def test_report_path_with_wrong_suffix_exits_2(tmp_path):
    completed = run_makaudit("import", str(EXAMPLES), "--no-store", "--xlsx", str(tmp_path / "report.html"))

    assert completed.returncode == 2
    assert "must end in .xlsx" in completed.stderr
    assert not (tmp_path / "report.html").exists()


def test_report_on_empty_database_file_leaves_it_empty(tmp_path):
    database = tmp_path / "h.sqlite"
    database.touch()

    completed = run_makaudit("report", "--db", str(database))

    assert completed.returncode == 3
    assert database.stat().st_size == 0
