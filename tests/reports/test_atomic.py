"""Atomic report writes against special files and symbolic links, in a temporary folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from makaudit.reports.atomic import ReportWriteError, write_atomically
from makaudit.reports.html import write_html
from makaudit.reports.model import build_report
from report_samples import make_result


def write_text(text: str):
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def fail_midway(path: Path) -> None:
    path.write_text("half a report", encoding="utf-8")
    raise OSError(28, "No space left on device")


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


def test_fifo_target_rejected(tmp_path):
    fifo = tmp_path / "report.html"
    os.mkfifo(fifo)

    with pytest.raises(ReportWriteError, match="choose a regular file path") as raised:
        write_atomically(fifo, write_text("report"))

    assert str(fifo) in str(raised.value)
    assert "named pipe" in str(raised.value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(tmp_path) == []


def test_fifo_target_rejected_by_html_writer(tmp_path):
    fifo = tmp_path / "audit.html"
    os.mkfifo(fifo)

    with pytest.raises(ReportWriteError, match="not a regular file"):
        write_html(build_report(make_result()), fifo)

    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_folder_target_rejected(tmp_path):
    folder = tmp_path / "audit.html"
    folder.mkdir()

    with pytest.raises(ReportWriteError, match="is a folder, not a regular file; choose a regular file path"):
        write_atomically(folder, write_text("report"))

    assert folder.is_dir()
    assert leftovers(tmp_path) == []


def test_symlink_keeps_link_and_replaces_target(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old report", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(real)

    write_atomically(link, write_text("new report"))

    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "new report"
    assert leftovers(tmp_path) == []


def test_symlink_writes_in_target_folder(tmp_path):
    reports = tmp_path / "reports"
    links = tmp_path / "links"
    reports.mkdir()
    links.mkdir()
    real = reports / "audit.html"
    real.write_text("old report", encoding="utf-8")
    link = links / "latest.html"
    link.symlink_to(Path("..") / "reports" / "audit.html")

    write_html(build_report(make_result()), link)

    assert link.is_symlink()
    assert real.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(path.name for path in links.iterdir()) == ["latest.html"]
    assert sorted(path.name for path in reports.iterdir()) == ["audit.html"]


def test_symlink_keeps_target_mode(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old report", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.html"
    link.symlink_to(real)

    write_atomically(link, write_text("new report"))

    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_dangling_symlink_creates_target(tmp_path):
    real = tmp_path / "real.html"
    link = tmp_path / "link.html"
    link.symlink_to(real)

    write_atomically(link, write_text("first report"))

    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "first report"


def test_dangling_symlink_missing_folder(tmp_path):
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "gone" / "real.html")

    with pytest.raises(ReportWriteError, match="does not exist"):
        write_atomically(link, write_text("report"))

    assert link.is_symlink()


def test_symlink_to_fifo_rejected(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link.html"
    link.symlink_to(fifo)

    with pytest.raises(ReportWriteError, match="points to .*pipe, which is a named pipe") as raised:
        write_atomically(link, write_text("report"))

    assert str(link) in str(raised.value)
    assert link.is_symlink()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(tmp_path) == []


def test_symlink_to_folder_rejected(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    link = tmp_path / "link.html"
    link.symlink_to(folder)

    with pytest.raises(ReportWriteError, match="which is a folder"):
        write_atomically(link, write_text("report"))

    assert link.is_symlink()
    assert list(folder.iterdir()) == []


def test_symlink_loop_rejected(tmp_path):
    first = tmp_path / "first.html"
    second = tmp_path / "second.html"
    first.symlink_to(second)
    second.symlink_to(first)

    with pytest.raises(ReportWriteError, match="loop"):
        write_atomically(first, write_text("report"))

    assert first.is_symlink()
    assert second.is_symlink()


def test_symlink_failed_write_keeps_target(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old report", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(real)

    with pytest.raises(ReportWriteError, match="No space left on device"):
        write_atomically(link, fail_midway)

    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "old report"
    assert leftovers(tmp_path) == []


def test_regular_file_replaced(tmp_path):
    target = tmp_path / "audit.html"
    target.write_text("old report", encoding="utf-8")

    write_atomically(target, write_text("new report"))

    assert target.read_text(encoding="utf-8") == "new report"
    assert not target.is_symlink()
