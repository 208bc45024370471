"""Connection options: defaults, validation and the masked password."""

from __future__ import annotations

import logging

import pytest

from makaudit.collectors.options import AuthMethod, ConnectionOptions, Transport
from makaudit.errors import UsageError


def test_defaults_ntlm_winrm_port_5985() -> None:
    options = ConnectionOptions(username="auditor", password="x")

    assert options.transport is Transport.WINRM
    assert options.auth is AuthMethod.NTLM
    assert options.effective_port == 5985
    assert options.effective_read_timeout > options.operation_timeout


def test_https_default_port_5986() -> None:
    assert ConnectionOptions(https=True).effective_port == 5986
    assert ConnectionOptions(https=True, port=443).effective_port == 443


def test_strings_become_enums() -> None:
    options = ConnectionOptions(transport="PSRP", auth="Kerberos")

    assert options.transport is Transport.PSRP
    assert options.auth is AuthMethod.KERBEROS


@pytest.mark.parametrize(("field", "value"), [("transport", "ssh"), ("auth", "digest")])
def test_unknown_choice_rejected(field: str, value: str) -> None:
    with pytest.raises(UsageError) as raised:
        ConnectionOptions(**{field: value})

    assert value in str(raised.value)
    assert "expected one of" in str(raised.value)


def test_basic_over_http_rejected() -> None:
    with pytest.raises(UsageError) as raised:
        ConnectionOptions(auth="basic")

    assert "--allow-unencrypted" in str(raised.value)
    assert "--https" in str(raised.value)


def test_basic_over_http_allowed_explicitly() -> None:
    assert ConnectionOptions(auth="basic", allow_unencrypted=True).sends_plain_basic


def test_basic_over_https_accepted() -> None:
    assert not ConnectionOptions(auth="basic", https=True).sends_plain_basic


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"port": 0}, "invalid port"),
        ({"port": 70000}, "invalid port"),
        ({"connect_timeout": 0}, "invalid connect timeout"),
        ({"operation_timeout": 0}, "invalid operation timeout"),
        ({"operation_timeout": 20, "read_timeout": 20}, "must exceed the operation timeout"),
    ],
)
def test_invalid_numbers_rejected(changes: dict, expected: str) -> None:
    with pytest.raises(UsageError) as raised:
        ConnectionOptions(**changes)

    assert expected in str(raised.value)


def test_ca_bundle_needs_https_and_file(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked here", encoding="ascii")

    with pytest.raises(UsageError, match="only applies with --https"):
        ConnectionOptions(ca_bundle=bundle)
    with pytest.raises(UsageError, match="CA bundle not found"):
        ConnectionOptions(https=True, ca_bundle=tmp_path / "absent.pem")
    assert ConnectionOptions(https=True, ca_bundle=bundle).tls_verify_setting == str(bundle)


def test_no_verify_tls_logs_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        options = ConnectionOptions(https=True, verify_tls=False)

    assert options.tls_verify_setting is False
    assert "validation is disabled" in caplog.text


def test_repr_masks_password() -> None:
    options = ConnectionOptions(username="auditor", password="S3cret-Value")

    assert "S3cret-Value" not in repr(options)
    assert "S3cret-Value" not in str(options)
    assert "********" in repr(options)


def test_with_password_keeps_other_fields() -> None:
    options = ConnectionOptions(username="auditor", transport="psrp").with_password("pw")

    assert options.password == "pw"
    assert options.transport is Transport.PSRP
