"""Building connection options for the commands that query endpoints (scan, host)."""

from __future__ import annotations

import argparse
from pathlib import Path

from makaudit.collectors.credentials import read_password
from makaudit.collectors.options import ConnectionOptions
from makaudit.errors import UsageError

DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0


def connection_options(args: argparse.Namespace) -> ConnectionOptions:
    """Turn the resolved remote options into ConnectionOptions; the password is read here, never from argv."""
    if not args.username:
        raise UsageError("no account given for the endpoints; pass --username USER (or set MAKAUDIT_USERNAME)")
    if args.ca_bundle is not None:
        check_ca_bundle(args.ca_bundle)

    return ConnectionOptions(
        transport=args.transport or "winrm",
        auth=args.auth or "ntlm",
        https=bool(args.https),
        port=args.port,
        ca_bundle=args.ca_bundle,
        verify_tls=not args.no_verify_tls,
        username=args.username,
        password=read_password(args.username),
        allow_unencrypted=bool(args.allow_unencrypted),
        connect_timeout=args.connect_timeout or DEFAULT_CONNECT_TIMEOUT_SECONDS,
        no_slmgr=bool(args.no_slmgr),
        debug_protocol=args.log_level == "debug",
    )


def check_ca_bundle(path: Path) -> None:
    """Raise UsageError unless ``path`` is a readable PEM file with at least one certificate."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise UsageError(f"--ca-bundle {path}: file not found; give the PEM file of the CA that signed the endpoint certificates") from None
    except OSError as error:
        raise UsageError(f"--ca-bundle {path}: cannot read it ({error.strerror or error})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise UsageError(f"--ca-bundle {path}: no PEM certificate in it; give a file with '-----BEGIN CERTIFICATE-----' blocks")
