"""Target parsing: host names, IPv4 and IPv6 literals, ports, target files."""

from __future__ import annotations

import pytest

from makaudit.collectors.targets import Target, parse_target, read_targets
from makaudit.errors import UsageError


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("pc-0042", "pc-0042", None),
        ("pc-0042.corp.example.test", "pc-0042.corp.example.test", None),
        ("PC-0042:5986", "PC-0042", 5986),
        ("127.0.10.7", "127.0.10.7", None),
        ("127.0.10.7:5985", "127.0.10.7", 5985),
        ("::1", "::1", None),
        ("[::1]", "::1", None),
        ("[::1]:5985", "::1", 5985),
        ("fe80:0:0:0:0:0:0:1", "fe80::1", None),
        ("  pc-1  ", "pc-1", None),
    ],
)
def test_parse_target_accepted_forms(text: str, host: str, port: int | None) -> None:
    target = parse_target(text)

    assert target.host == host
    assert target.port == port


def test_target_string_brackets_ipv6() -> None:
    assert str(Target("::1", 5985)) == "[::1]:5985"
    assert Target("::1", 5985).url_host == "[::1]"
    assert str(Target("::1")) == "::1"
    assert str(Target("pc-1", 5986)) == "pc-1:5986"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty target"),
        ("pc-1:", "invalid port"),
        ("pc-1:0", "invalid port"),
        ("pc-1:65536", "invalid port"),
        ("pc-1:http", "invalid port"),
        ("[::1", "missing ']'"),
        ("[::1]5985", "expected ':PORT'"),
        ("[pc-1]:5985", "not an IPv6 address"),
        ("::zz", "not an IPv6 address"),
        ("pc_1", "expected a host name"),
        ("-pc", "expected a host name"),
        ("pc 1", "expected a host name"),
        ("http://pc-1", "invalid"),
        ("999.1.1.1", "not a valid IPv4 address"),
        ("a" * 254, "expected a host name"),
    ],
)
def test_parse_target_rejects_invalid(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_target(text)

    assert expected in str(raised.value)


def test_read_targets_file_comments_and_duplicates(tmp_path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text(
        "# branch office\n"
        "pc-0001\n"
        "\n"
        "PC-0001   # the same host in capitals\n"
        "pc-0002:5986\n"
        "[::1]:5985\n"
        "   \n",
        encoding="utf-8",
    )

    targets = read_targets(["pc-0003", "pc-0002:5986"], path)

    assert [str(target) for target in targets] == ["pc-0003", "pc-0002:5986", "pc-0001", "[::1]:5985"]


def test_read_targets_names_bad_line(tmp_path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("pc-0001\n# fine\npc_0002\n", encoding="utf-8")

    with pytest.raises(UsageError) as raised:
        read_targets([], path)

    assert "line 3" in str(raised.value)
    assert "pc_0002" in str(raised.value)


def test_read_targets_missing_file(tmp_path) -> None:
    with pytest.raises(UsageError) as raised:
        read_targets([], tmp_path / "absent.txt")

    assert "targets file not found" in str(raised.value)


def test_read_targets_bad_argument() -> None:
    with pytest.raises(UsageError):
        read_targets(["pc-1:99999"])


def test_read_targets_without_arguments(tmp_path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("pc-1\n", encoding="utf-8")

    assert read_targets(None, path) == [Target("pc-1")]
    assert read_targets(None, None) == []


def test_targets_file_in_utf16_from_powershell(tmp_path):
    path = tmp_path / "targets.txt"
    path.write_bytes("pc-0001\r\n# lab\r\n127.0.20.2:5985\r\n".encode("utf-16"))

    targets = read_targets(None, path)

    assert [str(target) for target in targets] == ["pc-0001", "127.0.20.2:5985"]


def test_targets_file_lists_every_invalid_line(tmp_path):
    path = tmp_path / "targets.txt"
    path.write_text("pc-0001\npc-0002:99999\nhttp://127.0.20.3:5985/wsman\npc-0004\n", encoding="utf-8")

    with pytest.raises(UsageError) as caught:
        read_targets(None, path)

    message = str(caught.value)
    assert "2 invalid line(s)" in message
    assert "line 2" in message
    assert "line 3" in message
    assert "not a URL" in message
