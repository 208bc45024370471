"""pytest fixtures that start and stop test fleets: ``fleet_factory`` and ``make_machine``.

Enable with ``pytest_plugins = ["makaudit.testing.pytest_plugin"]`` in a conftest.py.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults, MachineDescription

_serial = itertools.count(1)


def sample_document(name: str) -> dict[str, Any]:
    """Return a small endpoint document of a Windows 11 Enterprise host activated with a MAK."""
    return {
        "format": "makaudit-endpoint",
        "version": 1,
        "collected_at": "2026-12-04T19:40:00Z",
        "computer": {
            "name": name,
            "dns_host_name": name.lower(),
            "domain": "corp.example.test",
            "os_caption": "Microsoft Windows 11 Enterprise",
            "os_version": "10.0.22631",
            "uuid": f"4C4C4544-0042-3010-8052-{zlib.crc32(name.encode()):012d}",
            "ui_culture": "en-US",
        },
        "service": {"Version": "10.0.22621.1", "KeyManagementServiceMachine": None, "KeyManagementServicePort": 1688},
        "products": [
            {
                "ID": "2de67392-b7a7-462a-b1ca-108dd189f588",
                "ApplicationID": "55c92734-d682-4d71-983e-d6ec3f16059f",
                "Name": "Windows(R), Enterprise edition",
                "Description": "Windows(R) Operating System, VOLUME_MAK channel",
                "ProductKeyChannel": "Volume:MAK",
                "PartialProductKey": "3V66T",
                "LicenseStatus": 1,
                "LicenseStatusReason": 0,
                "GracePeriodRemaining": 0,
                "EvaluationEndDate": None,
            }
        ],
        "ospp_products": [],
        "slmgr_dlv": "Name: Windows(R), Enterprise edition\r\nPartial Product Key: 3V66T\r\nLicense Status: Licensed\r\n",
        "errors": [],
    }


def sample_machine(
    name: str | None = None,
    faults: HostFaults | None = None,
    address: str = "127.0.0.1",
    port: int = 0,
) -> MachineDescription:
    """Return a machine with ``sample_document``; port 0 gets a free port when the fleet starts."""
    name = name or f"PC-{next(_serial):04d}"
    document = sample_document(name)
    return MachineDescription(
        name=name,
        document=document,
        slmgr_text=document["slmgr_dlv"],
        address=address,
        port=port,
        faults=faults or HostFaults(),
    )


@pytest.fixture
def make_machine() -> Callable[..., MachineDescription]:
    """Factory of sample machines: ``make_machine(name=None, faults=None, address="127.0.0.1", port=0)``."""
    return sample_machine


@pytest.fixture
def fleet_factory() -> Iterator[Callable[..., FleetServer]]:
    """Factory that starts a FleetServer (same arguments as its constructor) and stops it after the test."""
    started: list[FleetServer] = []

    def start(machines: list[MachineDescription], *args: Any, **kwargs: Any) -> FleetServer:
        fleet = FleetServer(machines, *args, **kwargs)
        fleet.start()
        started.append(fleet)
        return fleet

    yield start
    for fleet in reversed(started):
        fleet.stop()
