"""Building connection options for the commands that query endpoints (scan, host)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from makaudit.collectors.credentials import read_password
from makaudit.collectors.options import ConnectionOptions
from makaudit.collectors.runner import make_collector
from makaudit.errors import UsageError

DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0


def connection_options(args: argparse.Namespace) -> ConnectionOptions:
    """Turn the resolved remote options into ConnectionOptions; the password is read here, never from argv."""
    if not args.username:
        raise UsageError("no account given for the endpoints; pass --username USER (or set MAKAUDIT_USERNAME)")
    if args.ca_bundle is not None:
        check_ca_bundle(args.ca_bundle)
    if (args.transport or "winrm") == "winrm" and args.auth == "negotiate":
        raise UsageError("--auth negotiate is not available with --transport winrm: use ntlm or kerberos, or --transport psrp")

    options = ConnectionOptions(
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
        debug_protocol=args.log_level == "debug" and os.environ.get("MAKAUDIT_DEBUG_PROTOCOL", "").strip().lower() in ("1", "true", "yes", "on"),
    )

    # Building a collector checks what only the client library knows (Kerberos or CredSSP extras
    # installed), before a scan is recorded in the history database.
    make_collector(options).close()
    return options


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
