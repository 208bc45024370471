"""Fixtures for the collector tests: endpoint documents, machines and running test fleets."""

from __future__ import annotations

import itertools
import os
import logging
from typing import Any, Iterator

import pytest

from makaudit.collectors.options import ConnectionOptions
from makaudit.collectors.runner import make_collector
from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults, MachineDescription

WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APP_ID = "0ff1ce15-a989-479d-af46-f275c6370663"
PASSWORD = "Audit-Pa55word!xyzzy"
"""Password of the test account: tests search the logs and results for this text."""

SLMGR_TEXT = "Software licensing service version: 10.0.22621.1\r\n\r\nName: Windows(R), Enterprise edition\r\n"

_address_counter = itertools.count(1)
_SECOND_OCTET = 100 + os.getpid() % 150
_user_counter = itertools.count(1)


def unique_users(password: str = PASSWORD) -> list[tuple[str, str, str]]:
    """One account with a user name no other fleet of this run has.

    Fleets running at the same time share one NTLM user file, so two fleets
    with the same user name and different passwords would reject each other's logons.
    """
    return [("FLEET", f"auditor{next(_user_counter)}", password)]


def make_document(index: int, *, mak: str = "7QJ2K", with_office: bool = True, culture: str = "en-US") -> dict[str, Any]:
    """Return an endpoint document for host number ``index`` with a Windows MAK and an Office KMS client product."""
    name = f"PC-{index:04d}"
    products = [
        {
            "ID": f"00000000-0000-0000-0000-{index:012d}",
            "ApplicationID": WINDOWS_APP_ID,
            "Name": "Windows(R), Enterprise edition",
            "Description": "Windows(R) Operating System, VOLUME_MAK channel",
            "ProductKeyChannel": "Volume:MAK",
            "PartialProductKey": mak,
            "ProductKeyID": "03612-03380-000-000000-03-1033-22621.0000-0002024",
            "LicenseStatus": 1 if index % 3 else 2,
            "LicenseStatusReason": 0 if index % 3 else 1074065420,
            "GracePeriodRemaining": 0 if index % 3 else 43200,
            "EvaluationEndDate": None,
            "LicenseFamily": "Enterprise",
            "KeyManagementServiceMachine": None,
            "KeyManagementServicePort": 0,
            "DiscoveredKeyManagementServiceMachineName": None,
            "VLActivationTypeEnabled": 0,
            "RemainingAppReArmCount": 1001,
            "RemainingSkuReArmCount": 1001,
        }
    ]
    if with_office:
        products.append(
            {
                "ID": f"11111111-0000-0000-0000-{index:012d}",
                "ApplicationID": OFFICE_APP_ID,
                "Name": "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition",
                "Description": "Office 19, VOLUME_KMSCLIENT channel",
                "ProductKeyChannel": "Volume:GVLK",
                "PartialProductKey": "6MWKP",
                "LicenseStatus": 1,
                "LicenseStatusReason": 1074066496,
                "GracePeriodRemaining": 259000 + index,
                "EvaluationEndDate": None,
                "KeyManagementServiceMachine": "kms01.corp.example.test",
                "KeyManagementServicePort": 1688,
            }
        )
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
            "uuid": f"4C4C4544-0042-3010-8052-{index:012X}",
            "ui_culture": culture,
        },
        "service": {"Version": "10.0.22621.1", "KeyManagementServiceMachine": None, "KeyManagementServicePort": 0},
        "products": products,
        "ospp_products": [],
        "slmgr_dlv": SLMGR_TEXT,
        "errors": [],
    }


def make_machine(index: int, faults: HostFaults | None = None, *, address: str | None = None, port: int = 5985) -> MachineDescription:
    """Return a machine on its own loopback address, never reused within a test run.

    The second octet comes from the process id, so that test runs in parallel
    on this machine do not bind the same addresses.
    """
    if address is None:
        number = next(_address_counter)
        address = f"127.{_SECOND_OCTET}.{number // 250}.{1 + number % 250}"
    return MachineDescription(
        name=f"PC-{index:04d}",
        document=make_document(index),
        slmgr_text=SLMGR_TEXT,
        address=address,
        port=port,
        faults=faults or HostFaults(),
    )


def fleet_options(fleet: FleetServer, **changes: Any) -> ConnectionOptions:
    """Connection options for ``fleet`` with short timeouts, so failing hosts end quickly."""
    settings: dict[str, Any] = {
        "username": fleet.username,
        "password": fleet.password,
        "https": fleet.https,
        "ca_bundle": fleet.ca_bundle_path,
        "connect_timeout": 2.0,
        "operation_timeout": 2,
        "read_timeout": 4.0,
    }
    settings.update(changes)
    return ConnectionOptions(**settings)


@pytest.fixture
def collect_one():
    """Collect one machine of a fleet with a fresh collector and close it."""

    def collect(fleet: FleetServer, machine: MachineDescription, options: ConnectionOptions, host_timeout: float = 10.0):
        from makaudit.collectors.targets import parse_target

        collector = make_collector(options, host_timeout)
        try:
            return collector.collect(parse_target(machine.target))
        finally:
            collector.close()

    return collect


@pytest.fixture(autouse=True)
def _restore_library_loggers() -> Iterator[None]:
    """Collectors set the client libraries' log levels; put them back after each test."""
    names = ("winrm", "pypsrp", "psrpcore", "requests", "requests_ntlm", "urllib3", "spnego")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
