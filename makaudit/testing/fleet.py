"""The test fleet: emulated Windows hosts on loopback that real pywinrm and pypsrp clients scan.

Use ``FleetServer`` as a context manager in tests, or run
``python -m makaudit.testing.fleet serve --hosts N`` for a standalone fleet.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from types import TracebackType

from makaudit.testing.machine import MachineDescription
from makaudit.testing.server.auth import Account, NtlmUserFiles, read_users_file, write_users_file
from makaudit.testing.server.base import ResourceHandler
from makaudit.testing.server.service import ServiceStats, WinRMService, check_loopback
from makaudit.testing.server.shell import DEFAULT_SHELLS_PER_USER, CmdShellHandler
from makaudit.testing.server.tls import FleetCertificates, create_certificates

logger = logging.getLogger(__name__)

GENERATED_DOMAIN = "FLEET"
GENERATED_USERNAME = "auditor"


def _psrp_handler() -> ResourceHandler | None:
    """Return the PowerShell (PSRP) plugin handler, or None when that module cannot be imported."""
    try:
        from makaudit.testing.server.psrp import PowerShellHandler
    except ImportError as error:
        logger.warning("PSRP endpoint disabled: makaudit.testing.server.psrp failed to import: %s", error)
        return None
    return PowerShellHandler()


class FleetServer:
    """Emulated WinRM endpoints for ``machines``, started and stopped in-process.

    ``users`` are ``(domain, username, password)`` accounts valid on every host; without them
    one account is generated (see ``username`` and ``password``). With ``https`` every host
    listens with a certificate from a generated CA, whose PEM is at ``ca_bundle_path``.
    """

    def __init__(
        self,
        machines: list[MachineDescription],
        users: list[tuple[str, str, str]] | None = None,
        https: bool = False,
        *,
        shells_per_user: int = DEFAULT_SHELLS_PER_USER,
        allow_basic: bool = True,
    ) -> None:
        if not machines:
            raise ValueError("a fleet needs at least one machine")
        for machine in machines:
            check_loopback(machine.address)

        if users:
            self.accounts = [Account(domain, username, password) for domain, username, password in users]
        else:
            self.accounts = [Account(GENERATED_DOMAIN, GENERATED_USERNAME, "Fleet-" + secrets.token_urlsafe(12))]

        self.machines = list(machines)
        self.https = https
        self.cmd_handler = CmdShellHandler(shells_per_user=shells_per_user)
        self._allow_basic = allow_basic
        self._directory: str | None = None
        self._users_file: str | None = None
        self._certificates: FleetCertificates | None = None
        self._service: WinRMService | None = None

    def __repr__(self) -> str:
        state = "running" if self._service else "stopped"
        return f"FleetServer({len(self.machines)} hosts, {'https' if self.https else 'http'}, {state})"

    @property
    def targets(self) -> list[str]:
        """``ADDRESS:PORT`` of every host, in the order of ``machines`` (hosts with refuse_connection included)."""
        return [machine.target for machine in self.machines]

    @property
    def username(self) -> str:
        """The first account's user name as clients give it (``DOMAIN\\user``)."""
        account = self.accounts[0]
        return f"{account.domain}\\{account.username}" if account.domain else account.username

    @property
    def password(self) -> str:
        return self.accounts[0].password

    @property
    def users_file(self) -> str:
        """Path of the ``DOMAIN:USER:PASSWORD`` file of this fleet's accounts (while running)."""
        if self._users_file is None:
            raise RuntimeError("the fleet is not running: start it before reading users_file")
        return self._users_file

    @property
    def ca_bundle_path(self) -> str | None:
        """Path of the CA certificate PEM that validates the hosts, or None over HTTP."""
        return self._certificates.ca_bundle_path if self._certificates else None

    @property
    def stats(self) -> ServiceStats:
        if self._service is None:
            raise RuntimeError("the fleet is not running")
        return self._service.stats

    def url(self, machine: MachineDescription) -> str:
        return f"{'https' if self.https else 'http'}://{machine.target}/wsman"

    def start(self) -> "FleetServer":
        """Write the users file (and certificates), then bind every host; raise OSError when a bind fails."""
        if self._service is not None:
            raise RuntimeError("the fleet is already running")
        self._directory = tempfile.mkdtemp(prefix="makaudit-fleet-")
        try:
            self._users_file = os.path.join(self._directory, "users.txt")
            write_users_file(self._users_file, self.accounts)
            if self.https:
                self._certificates = create_certificates(self._directory, [machine.address for machine in self.machines])

            handlers: list[ResourceHandler] = [self.cmd_handler]
            psrp = _psrp_handler()
            if psrp is not None:
                handlers.append(psrp)

            NtlmUserFiles.register(self, self.accounts)
            service = WinRMService(self.machines, self.accounts, handlers, self._certificates, self._allow_basic)
            service.start()
            self._service = service
        except BaseException:
            self._cleanup()
            raise
        return self

    def stop(self) -> None:
        """Stop serving and delete the users file and certificates; safe to call twice."""
        if self._service is not None:
            self._service.stop()
            self._service = None
        self._cleanup()

    def _cleanup(self) -> None:
        NtlmUserFiles.unregister(self)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory = self._users_file = None
        self._certificates = None

    def __enter__(self) -> "FleetServer":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m makaudit.testing.fleet", description="Run the makaudit test fleet on loopback.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve emulated Windows hosts until interrupted (Ctrl+C)")
    serve.add_argument("--hosts", type=int, required=True, help="number of hosts to emulate (1 to 5000)")
    serve.add_argument("--seed", type=int, default=1, help="seed of the generated fleet (default 1)")
    serve.add_argument("--base", default="127.0.20.1", help="loopback address of the first host (default 127.0.20.1)")
    serve.add_argument("--port", type=int, default=5985, help="TCP port of every host (default 5985)")
    serve.add_argument("--https", action="store_true", help="serve HTTPS with a generated CA; prints the CA bundle path")
    serve.add_argument("--faults", choices=["none", "mixed"], default="none", help="healthy hosts only, or a mix of faults")
    serve.add_argument("--users", help="file of DOMAIN:USER:PASSWORD lines (default: generate one account)")
    serve.add_argument("--targets", help="write one ADDRESS:PORT target per line to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _serve(arguments)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _serve(arguments: argparse.Namespace) -> int:
    if not 1 <= arguments.hosts <= 5000:
        raise ValueError(f"--hosts {arguments.hosts} is out of range: use 1 to 5000")
    if not 1 <= arguments.port <= 65535:
        raise ValueError(f"--port {arguments.port} is out of range: use 1 to 65535")
    check_loopback(arguments.base)

    from makaudit.testing.builder import build_fleet

    built = build_fleet(arguments.hosts, arguments.seed, arguments.base, arguments.port, faults=arguments.faults)
    machines: list[MachineDescription] = list(built.machines)

    users = None
    if arguments.users:
        users = [(account.domain, account.username, account.password) for account in read_users_file(arguments.users)]

    with FleetServer(machines, users=users, https=arguments.https) as fleet:
        if arguments.targets:
            with open(arguments.targets, "w", encoding="utf-8") as handle:
                handle.write("".join(target + "\n" for target in fleet.targets))
            print(f"targets: {arguments.targets}")
        print(f"serving {len(machines)} hosts from {fleet.targets[0]} ({'HTTPS' if fleet.https else 'HTTP'})")
        if not arguments.users:
            print(f"user: {fleet.username}   users file: {fleet.users_file}")
        if fleet.ca_bundle_path:
            print(f"CA bundle: {fleet.ca_bundle_path}")
        print("press Ctrl+C to stop", flush=True)
        _wait_for_interrupt()
    return 0


def _wait_for_interrupt() -> None:
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: stopped.set())
    try:
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
