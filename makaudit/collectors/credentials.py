"""The password for remote collection: from MAKAUDIT_PASSWORD, or a hidden prompt on a terminal.

It never comes from the command line, where other users could read it in the process list.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Callable, Mapping, TextIO

from makaudit.errors import UsageError

PASSWORD_VARIABLE = "MAKAUDIT_PASSWORD"


def read_password(
    username: str,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> str:
    """Return the password of ``username`` from the environment, else from a prompt on a terminal.

    Raises UsageError when the variable is unset and standard input is not a
    terminal (a scheduled job), or when the prompt gets an empty password.
    """
    environ = os.environ if environ is None else environ
    stdin = sys.stdin if stdin is None else stdin

    password = environ.get(PASSWORD_VARIABLE)
    if password:
        return password

    if stdin is None or not stdin.isatty():
        raise UsageError(
            f"no password for {username}: set the environment variable {PASSWORD_VARIABLE} "
            "(standard input is not a terminal, so makaudit cannot prompt for it)"
        )

    try:
        password = prompt(f"Password for {username}: ")
    except (EOFError, KeyboardInterrupt):
        raise UsageError(f"no password entered for {username}") from None
    if not password:
        raise UsageError(f"empty password entered for {username}; set {PASSWORD_VARIABLE} or enter the password")
    return password
