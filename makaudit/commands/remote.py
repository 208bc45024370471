"""Building connection options for the commands that query endpoints (scan, host)."""

from __future__ import annotations

import argparse

from makaudit.collectors.credentials import read_password
from makaudit.collectors.options import ConnectionOptions
from makaudit.errors import UsageError

DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0


def connection_options(args: argparse.Namespace) -> ConnectionOptions:
    """Turn the resolved remote options into ConnectionOptions; the password is read here, never from argv."""
    if not args.username:
        raise UsageError("no account given for the endpoints; pass --username USER (or set MAKAUDIT_USERNAME)")

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
