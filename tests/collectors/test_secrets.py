"""The password never appears in logs (DEBUG included), results or exception text."""

from __future__ import annotations

import base64
import logging

import pytest

from conftest import PASSWORD, fleet_options, make_machine, unique_users
from makaudit.collectors.options import ConnectionOptions
from makaudit.collectors.runner import run_scan
from makaudit.collectors.targets import parse_target
from makaudit.errors import UsageError
from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults

_FAULTS = [HostFaults(), HostFaults(auth_always_fails=True), HostFaults(garbage_output=True), HostFaults(refuse_connection=True)]


def _forms_of(password: str, username: str) -> list[str]:
    """The password as it is, and as it travels in a Basic Authorization header."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    return [password, basic]


@pytest.mark.parametrize("debug_protocol", [False, True])
@pytest.mark.parametrize(("transport", "auth"), [("winrm", "ntlm"), ("winrm", "basic"), ("psrp", "ntlm"), ("psrp", "basic")])
def test_password_absent_everywhere(caplog, transport: str, auth: str, debug_protocol: bool) -> None:
    machines = [make_machine(index, faults) for index, faults in enumerate(_FAULTS, start=1)]
    caplog.set_level(logging.DEBUG)

    with FleetServer(machines, users=unique_users()) as fleet:
        options = fleet_options(
            fleet, transport=transport, auth=auth, allow_unencrypted=True, debug_protocol=debug_protocol
        )
        outcome = run_scan([parse_target(m.target) for m in machines], options, workers=2, timeout=3.0, progress="log")
        wrong = run_scan(
            [parse_target(machines[0].target)], options.with_password(PASSWORD + "-old"), workers=1, progress="none"
        )

    texts = [caplog.text, repr(options), str(options)]
    texts += [repr(result) for result in outcome.results + wrong.results]
    texts += [str(result.to_dict()) for result in outcome.results + wrong.results]
    assert [result.status.value for result in outcome.results if result.target == machines[0].target] == ["ok"]
    assert wrong.results[0].status.value == "auth_failed"
    assert "DEBUG" in caplog.text
    for secret in _forms_of(PASSWORD, fleet.username):
        for text in texts:
            assert secret not in text


def test_usage_errors_do_not_echo_password() -> None:
    with pytest.raises(UsageError) as raised:
        ConnectionOptions(auth="basic", username="auditor", password=PASSWORD)

    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in repr(raised.value)


@pytest.mark.parametrize(("debug_protocol", "level"), [(False, logging.WARNING), (True, logging.DEBUG)])
def test_library_loggers_level(debug_protocol: bool, level: int) -> None:
    from makaudit.collectors.psrp import PSRPCollector

    PSRPCollector(ConnectionOptions(username="auditor", password="x", debug_protocol=debug_protocol))

    for name in ("pypsrp", "winrm", "requests", "urllib3", "spnego"):
        assert logging.getLogger(name).level == level
