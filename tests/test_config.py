"""Loading the TOML configuration, and a clear error for every invalid value."""

from __future__ import annotations

from pathlib import Path

import pytest

from makaudit.config import _SECTIONS, SUPPRESSIBLE_CODES, AuditConfig, Suppression, load_config
from makaudit.errors import UsageError
from makaudit.model import Severity

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "makaudit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_defaults():
    config = load_config(None)

    assert config == AuditConfig()
    assert (config.near_limit_threshold, config.grace_warning_days, config.stale_days) == (0.9, 7, 14)
    assert config.rotation_max_age_days is None
    assert config.fail_on is None
    assert config.approved_kms_hosts == ()


def test_example_loads():
    config = load_config(EXAMPLE)

    assert config.fail_on is Severity.HIGH
    assert config.rotation_max_age_days == 1095
    assert config.approved_kms_hosts == ("kms01.corp.example", "kms02.corp.example:1688")
    assert config.suppressions[0] == Suppression("HOST_STALE", host="LAB-PC-07", reason="In storage until the 2027 lab rebuild")


def test_values_are_read(tmp_path):
    path = write(
        tmp_path,
        """
[thresholds]
near_limit = 1
grace_warning_days = 0
stale_days = 1
rotation_max_age_days = 0
fail_on = "Critical"

[findings]
suppress = [{ code = "host_stale" }]
""",
    )

    config = load_config(path)

    assert config.near_limit_threshold == 1.0
    assert config.grace_warning_days == 0
    assert config.rotation_max_age_days is None
    assert config.fail_on is Severity.CRITICAL
    assert config.suppressions == (Suppression("HOST_STALE"),)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[thresholds]\nnear_limit = 0\n", ["thresholds.near_limit", "0", "greater than 0 and at most 1"]),
        ("[thresholds]\nnear_limit = 1.5\n", ["1.5", "at most 1"]),
        ('[thresholds]\nnear_limit = "90%"\n', ["'90%'", "a number"]),
        ("[thresholds]\nnear_limit = true\n", ["True", "a number"]),
        ("[thresholds]\ngrace_warning_days = -1\n", ["thresholds.grace_warning_days", "-1", "at least 0"]),
        ("[thresholds]\nstale_days = 0\n", ["thresholds.stale_days", "at least 1"]),
        ("[thresholds]\nstale_days = 2.5\n", ["2.5", "whole number"]),
        ("[thresholds]\nrotation_max_age_days = -5\n", ["rotation_max_age_days", "-5"]),
        ('[thresholds]\nfail_on = "severe"\n', ["thresholds.fail_on", "'severe'", "'critical'"]),
        ('[kms]\napproved_hosts = "kms01"\n', ["kms.approved_hosts", "a list of host names"]),
        ('[kms]\napproved_hosts = ["kms01", 5]\n', ["kms.approved_hosts", "5"]),
        ('[kms]\napproved_hosts = ["kms01:http"]\n', ["kms01:http", "port"]),
        ('[kms]\napproved_hosts = ["[::1"]\n', ["[::1", "']'"]),
        ("[findings]\nsuppress = [{ host = \"PC-1\" }]\n", ["findings.suppress[0] has no code"]),
        ('[findings]\nsuppress = [{ code = "NOPE" }]\n', ["findings.suppress[0].code", "'NOPE'", "MAK_OVERUSE"]),
        ('[findings]\nsuppress = [{ code = "HOST_STALE", until = "2027" }]\n', ["'until'", "code, host, key and reason"]),
        ('[findings]\nsuppress = [{ code = "HOST_STALE", host = "" }]\n', ["findings.suppress[0].host", "non-empty"]),
        ('[findings]\nsuppress = "HOST_STALE"\n', ["findings.suppress", "a list of tables"]),
        ("[scan]\nworkers = 0\n", ["scan.workers", "at least 1"]),
        ('[scan]\nhttps = "yes"\n', ["scan.https", "true or false"]),
        ("[scan]\ntimeout = -1\n", ["scan.timeout", "greater than 0"]),
        ("[inventory]\npath = 3\n", ["inventory.path", "string"]),
        ("[tresholds]\nstale_days = 3\n", ["unknown section [tresholds]", "kms", "thresholds"]),
        ("[thresholds]\nstale = 3\n", ["unknown key 'stale' in [thresholds]", "stale_days"]),
        ("stale_days = 3\n", ["'stale_days' is outside any section", "[thresholds]"]),
        ('near = 3\n', ["'near' is outside any section", "one of the sections"]),
        ("[thresholds\n", ["invalid TOML"]),
    ],
)
def test_invalid_values_name_key_value_and_fix(tmp_path, text, fragments):
    path = write(tmp_path, text)

    with pytest.raises(UsageError) as caught:
        load_config(path)

    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("# caf\xe9\n".encode("latin-1"))

    with pytest.raises(UsageError, match="UTF-8|invalid TOML"):
        load_config(path)


def test_every_option_maps_to_a_config_field():
    fields = set(AuditConfig.__dataclass_fields__)
    for options in _SECTIONS.values():
        for option in options.values():
            assert option.field is None or option.field in fields


def test_suppressible_codes_are_unique():
    assert len(set(SUPPRESSIBLE_CODES)) == len(SUPPRESSIBLE_CODES)


def test_every_config_problem_reported_at_once(tmp_path):
    path = tmp_path / "makaudit.toml"
    path.write_text("[scan]\nworkrs = 3\n[thresholds]\nnear_limit = 7\nstale_dayz = 3\n", encoding="utf-8")

    with pytest.raises(UsageError) as caught:
        load_config(path)

    message = str(caught.value)
    assert "3 problems" in message
    assert "'workrs'" in message
    assert "near_limit" in message
    assert "'stale_dayz'" in message
