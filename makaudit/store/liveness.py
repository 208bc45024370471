"""Decide whether a scan recorded as running still has a live process behind it."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ScanOwner:
    """The process that writes a scan: its process id and the host name it runs on."""

    pid: int
    host: str

    @classmethod
    def current(cls) -> "ScanOwner":
        return cls(pid=os.getpid(), host=socket.gethostname())


def is_stale(
    owner_pid: int | None,
    owner_host: str | None,
    last_activity: datetime,
    now: datetime,
    stale_after: timedelta,
) -> bool:
    """Return True when a running scan can no longer finish.

    On this host the owner's process id decides: our own scans are live, and a
    scan whose process is gone is stale. A live process with no activity for
    ``stale_after`` is also stale, because its process id may have been reused.
    Scans of other hosts, and scans written before owners were recorded, are
    stale after ``stale_after`` without activity.
    """
    current = ScanOwner.current()
    if owner_pid is not None and owner_host == current.host:
        if owner_pid == current.pid:
            return False
        if not process_exists(owner_pid):
            return True

    return now - last_activity > stale_after


def process_exists(pid: int) -> bool:
    """Return True when a process with this id runs on this machine."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_process_exists(pid)

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The process exists but belongs to another user.
        return True
    return True


def _windows_process_exists(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows, so ask the kernel instead.
    # NOTE: this branch has not been run in the test suite, which runs on Linux.
    import ctypes

    process_query_limited_information = 0x1000
    still_active = 259
    error_access_denied = 5

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return kernel32.GetLastError() == error_access_denied

    try:
        exit_code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(exit_code)):
            return True
        return exit_code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
