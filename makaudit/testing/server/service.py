"""The WinRM service of every emulated host: listeners, authentication, encryption and dispatch.

One asyncio event loop in one daemon thread serves all hosts, so a fleet of a
thousand hosts costs a thousand listening sockets and no thread per host.
Resource handlers run in a small thread pool, because a handler may block.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import ipaddress
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field

import spnego.channel_bindings

from makaudit.testing.machine import MachineDescription
from makaudit.testing.server import encryption, soap
from makaudit.testing.server.auth import Account, AuthenticationFailed, NegotiateAcceptor, check_basic, find_account
from makaudit.testing.server.base import ResourceHandler, WSManFault, WSManPending, WSManRequest
from makaudit.testing.server.http import HttpError, HttpRequest, HttpResponse, read_request
from makaudit.testing.server.shell import shell_timed_out_fault
from makaudit.testing.server.tls import FleetCertificates

logger = logging.getLogger(__name__)

WSMAN_PATH = "/wsman"
CHALLENGE_HEADERS = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", 'Basic realm="WSMAN"')]
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
DEFAULT_OPERATION_TIMEOUT_SECONDS = 60.0
"""OperationTimeout assumed when a request carries none (WinRM's MaxTimeoutms default is 60 s)."""
HANDLER_THREADS = 4
START_TIMEOUT_SECONDS = 60.0

# NOTE: these three codes are unverified against a Windows capture; clients only show them.
CODE_DESTINATION_UNREACHABLE = 2150858770
CODE_INVALID_MESSAGE = 2150858817
CODE_INTERNAL_ERROR = 2150858752


def check_loopback(address: str) -> str:
    """Return ``address`` when it is a loopback IP (127.0.0.0/8 or ::1); raise ValueError otherwise."""
    try:
        parsed = ipaddress.ip_address(address.strip("[]"))
    except ValueError as error:
        raise ValueError(f"invalid address {address!r}: expected a loopback IP address such as 127.0.20.1") from error
    if not parsed.is_loopback:
        raise ValueError(
            f"address {address} is not a loopback address: the test fleet binds and contacts only 127.0.0.0/8 and ::1"
        )
    return str(parsed)


def _unused_port(address: str) -> int:
    """Return a port nothing listens on: the kernel picks it, and the socket closes at once."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


@dataclass
class _Connection:
    """Authentication state of one TCP connection (NTLM authenticates the connection, not a request)."""

    peer: str
    acceptor: NegotiateAcceptor | None = None
    account: Account | None = None


@dataclass
class ServiceStats:
    """Counters of one running service, for tests and the load benchmark."""

    requests: int = 0
    unauthorized: int = 0
    faults: int = 0
    connections: int = 0
    by_host: dict[str, int] = field(default_factory=dict)


class WinRMService:
    """Serves WS-Management for ``machines`` on their loopback addresses until ``stop``."""

    def __init__(
        self,
        machines: list[MachineDescription],
        accounts: list[Account],
        handlers: list[ResourceHandler],
        certificates: FleetCertificates | None = None,
        allow_basic: bool = True,
    ) -> None:
        for machine in machines:
            check_loopback(machine.address)
        seen: set[str] = set()
        for machine in machines:
            if machine.port != 0 and machine.target in seen:
                raise ValueError(f"two machines share the target {machine.target}: give each its own address or port")
            seen.add(machine.target)

        self.machines = machines
        self.accounts = accounts
        self.handlers = handlers
        self.certificates = certificates
        self.allow_basic = allow_basic
        self.stats = ServiceStats()

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._ssl_context: ssl.SSLContext | None = certificates.server_context() if certificates else None
        self._channel_bindings = (
            spnego.channel_bindings.GssChannelBindings(application_data=b"tls-server-end-point:" + certificates.certificate_hash)
            if certificates
            else None
        )

    def start(self) -> None:
        """Bind every listener (hosts with ``refuse_connection`` get none) and serve in a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("the WinRM service is already running")
        self._executor = concurrent.futures.ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="fleet-handler")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fleet-winrm", daemon=True)
        self._thread.start()

        future = asyncio.run_coroutine_threadsafe(self._bind_all(), self._loop)
        try:
            future.result(START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        logger.info("test fleet serving %d hosts (%s)", len(self._servers), "HTTPS" if self.certificates else "HTTP")

    def stop(self) -> None:
        """Close every listener and connection, then end the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(START_TIMEOUT_SECONDS)
            except (concurrent.futures.TimeoutError, RuntimeError) as error:
                logger.warning("test fleet shutdown did not finish cleanly: %s", error)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_SECONDS)
        loop.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._loop = self._thread = self._executor = None
        logger.info("test fleet stopped")

    async def _bind_all(self) -> None:
        for machine in self.machines:
            if machine.faults.refuse_connection:
                if machine.port == 0:
                    machine.port = _unused_port(machine.address)
                continue
            server = await asyncio.start_server(
                lambda reader, writer, machine=machine: self._accept(reader, writer, machine),
                host=check_loopback(machine.address),
                port=machine.port,
                ssl=self._ssl_context,
                limit=64 * 1024,
                backlog=128,
                reuse_address=True,
            )
            self._servers.append(server)
            if machine.port == 0:
                # Port 0 lets the kernel pick a free port. Record it so that ``target`` names it.
                machine.port = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, machine: MachineDescription) -> None:
        task = asyncio.ensure_future(self._serve_connection(reader, writer, machine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, machine: MachineDescription) -> None:
        peer = writer.get_extra_info("peername")
        connection = _Connection(peer=str(peer[0]) if peer else "?")
        self.stats.connections += 1
        try:
            while True:
                try:
                    request = await read_request(reader)
                except HttpError as error:
                    logger.warning("%s: invalid HTTP request from %s: %s", machine.target, connection.peer, error)
                    writer.write(HttpResponse(error.status, str(error).encode(), "text/plain").encode(keep_alive=False))
                    await writer.drain()
                    return
                if request is None:
                    return

                if machine.faults.hang:
                    # Never respond, so only the client's read timeout ends its wait.
                    await asyncio.Event().wait()

                response = await self._respond(request, connection, machine)
                if machine.faults.delay_seconds > 0:
                    await asyncio.sleep(machine.faults.delay_seconds)
                writer.write(response.encode(request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as error:
            logger.debug("%s: connection from %s ended: %s", machine.target, connection.peer, error)
        finally:
            writer.close()

    async def _respond(self, request: HttpRequest, connection: _Connection, machine: MachineDescription) -> HttpResponse:
        self.stats.requests += 1
        self.stats.by_host[machine.target] = self.stats.by_host.get(machine.target, 0) + 1

        if request.path.split("?")[0].lower() != WSMAN_PATH:
            return HttpResponse(404, b"", None)
        if request.method != "POST":
            return HttpResponse(405, b"", None, [("Allow", "POST")])

        authorization = request.header("authorization")
        reply_token: bytes | None = None
        if authorization:
            outcome = self._authenticate(authorization, connection, machine)
            if isinstance(outcome, HttpResponse):
                self.stats.unauthorized += outcome.status == 401
                return outcome
            reply_token = outcome
        elif connection.account is None or connection.acceptor is None:
            self.stats.unauthorized += 1
            return HttpResponse(401, headers=list(CHALLENGE_HEADERS))

        account = connection.account
        assert account is not None
        response = await self._process_body(request, connection, machine, account)
        if reply_token:
            response.headers.append(("WWW-Authenticate", "Negotiate " + base64.b64encode(reply_token).decode()))
        return response

    def _authenticate(self, authorization: str, connection: _Connection, machine: MachineDescription) -> HttpResponse | bytes | None:
        """Check an Authorization header; return a 401 response, or the final reply token (None when none)."""
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()

        if scheme == "basic" and self.allow_basic:
            account = check_basic(value, self.accounts)
            connection.acceptor = None
            connection.account = None
            if account is None or machine.faults.auth_always_fails:
                logger.info("%s: Basic authentication from %s rejected", machine.target, connection.peer)
                return HttpResponse(401, headers=list(CHALLENGE_HEADERS))
            connection.account = account
            return None

        if scheme != "negotiate":
            return HttpResponse(401, headers=list(CHALLENGE_HEADERS))

        try:
            token = base64.b64decode(value.strip(), validate=True)
        except binascii.Error:
            return HttpResponse(401, headers=list(CHALLENGE_HEADERS))

        if connection.acceptor is None or connection.acceptor.complete:
            connection.acceptor = NegotiateAcceptor(self._channel_bindings)
            connection.account = None
        try:
            reply = connection.acceptor.step(token)
        except AuthenticationFailed as error:
            logger.info("%s: Negotiate authentication from %s rejected: %s", machine.target, connection.peer, error)
            connection.acceptor = None
            return HttpResponse(401, headers=list(CHALLENGE_HEADERS))

        if not connection.acceptor.complete:
            return HttpResponse(401, headers=[("WWW-Authenticate", "Negotiate " + base64.b64encode(reply or b"").decode())])

        principal = connection.acceptor.principal or ""
        account = find_account(self.accounts, principal)
        if account is None or machine.faults.auth_always_fails:
            logger.info("%s: user %s from %s is not allowed on this fleet", machine.target, principal, connection.peer)
            connection.acceptor = None
            return HttpResponse(401, headers=list(CHALLENGE_HEADERS))
        connection.account = account
        return reply

    async def _process_body(
        self, request: HttpRequest, connection: _Connection, machine: MachineDescription, account: Account
    ) -> HttpResponse:
        """Unseal the body when encrypted, dispatch it, and seal the response the same way."""
        encrypted = encryption.is_encrypted(request.header("content-type"))
        acceptor = connection.acceptor
        if encrypted and (acceptor is None or not acceptor.complete):
            return HttpResponse(400, b"an encrypted body needs an established Negotiate security context", "text/plain")

        body = request.body
        if encrypted:
            assert acceptor is not None
            try:
                body = encryption.unwrap_body(body, acceptor)
            except encryption.EncryptionError as error:
                logger.warning("%s: invalid encrypted request from %s: %s", machine.target, connection.peer, error)
                connection.acceptor = None
                connection.account = None
                return HttpResponse(400, str(error).encode(), "text/plain")

        if not body.strip():
            # The empty POST a client sends to set up the security context.
            return HttpResponse(200)

        status, payload = await self._dispatch(body, machine, account)
        if encrypted:
            assert acceptor is not None
            return HttpResponse(status, encryption.wrap_body(payload, acceptor), encryption.CONTENT_TYPE)
        return HttpResponse(status, payload, SOAP_CONTENT_TYPE)

    async def _dispatch(self, body: bytes, machine: MachineDescription, account: Account) -> tuple[int, bytes]:
        """Decode the envelope, run its handler and return the HTTP status and the response envelope."""
        try:
            envelope = soap.decode_envelope(body)
        except soap.EnvelopeError as error:
            fault = WSManFault("w:InvalidMessageInformationHeader", CODE_INVALID_MESSAGE, f"The WS-Management service cannot process the request: {error}.")
            return self._fault(fault, None, machine)

        request = WSManRequest(
            action=envelope.action,
            resource_uri=envelope.resource_uri,
            message_id=envelope.message_id,
            header=envelope.header,
            body=envelope.body,
            machine=machine,
            username=account.username,
            selectors=envelope.selectors,
            options=envelope.options,
            operation_timeout_seconds=envelope.operation_timeout_seconds,
        )
        handler = next((candidate for candidate in self.handlers if candidate.handles(request.resource_uri)), None)
        if handler is None:
            fault = WSManFault(
                "w:DestinationUnreachable",
                CODE_DESTINATION_UNREACHABLE,
                f"The WS-Management service cannot process the request because the resource URI {request.resource_uri or '(none)'} is not valid or not found.",
            )
            return self._fault(fault, request.message_id, machine)

        try:
            response = await self._call_handler(handler, request)
        except WSManFault as fault:
            return self._fault(fault, request.message_id, machine)
        except Exception:
            logger.exception("%s: handler %s failed on %s", machine.target, type(handler).__name__, request.action)
            fault = WSManFault("w:InternalError", CODE_INTERNAL_ERROR, "The WS-Management service failed to process the request because of an internal error.")
            return self._fault(fault, request.message_id, machine)
        return 200, soap.build_response(response, request.message_id)

    async def _call_handler(self, handler: ResourceHandler, request: WSManRequest):  # type: ignore[no-untyped-def]
        """Run the handler, waiting while it raises WSManPending, up to the request's OperationTimeout."""
        loop = asyncio.get_running_loop()
        timeout = request.operation_timeout_seconds or DEFAULT_OPERATION_TIMEOUT_SECONDS
        deadline = loop.time() + timeout
        while True:
            try:
                return await loop.run_in_executor(self._executor, handler.handle, request)
            except WSManPending as pending:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise shell_timed_out_fault() from None
                await asyncio.sleep(min(pending.ready_in_seconds, remaining))

    def _fault(self, fault: WSManFault, relates_to: str | None, machine: MachineDescription) -> tuple[int, bytes]:
        self.stats.faults += 1
        logger.debug("%s: fault %s (%d): %s", machine.target, fault.code, fault.wsman_code, fault.reason)
        return 500, soap.build_fault(fault, relates_to, machine.name)
