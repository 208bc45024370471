"""Password from MAKAUDIT_PASSWORD or a prompt on a terminal."""

from __future__ import annotations

import io

import pytest

from makaudit.collectors.credentials import PASSWORD_VARIABLE, read_password
from makaudit.errors import UsageError


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _no_prompt(text: str) -> str:
    raise AssertionError("the prompt must not be shown")


def test_environment_variable_wins() -> None:
    password = read_password("auditor", environ={PASSWORD_VARIABLE: "from-env"}, stdin=_Terminal(), prompt=_no_prompt)

    assert password == "from-env"


def test_prompt_on_terminal() -> None:
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return "typed"

    assert read_password("CORP\\auditor", environ={}, stdin=_Terminal(), prompt=prompt) == "typed"
    assert prompts == ["Password for CORP\\auditor: "]


def test_no_terminal_asks_for_variable() -> None:
    with pytest.raises(UsageError) as raised:
        read_password("auditor", environ={}, stdin=io.StringIO(), prompt=_no_prompt)

    assert PASSWORD_VARIABLE in str(raised.value)


def test_empty_variable_counts_as_unset() -> None:
    with pytest.raises(UsageError):
        read_password("auditor", environ={PASSWORD_VARIABLE: ""}, stdin=io.StringIO(), prompt=_no_prompt)


def test_empty_prompt_rejected() -> None:
    with pytest.raises(UsageError, match="empty password"):
        read_password("auditor", environ={}, stdin=_Terminal(), prompt=lambda text: "")


def test_prompt_cancelled() -> None:
    def cancel(text: str) -> str:
        raise EOFError

    with pytest.raises(UsageError, match="no password entered"):
        read_password("auditor", environ={}, stdin=_Terminal(), prompt=cancel)
