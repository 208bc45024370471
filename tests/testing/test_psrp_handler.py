"""PowerShellHandler driven directly with WS-Management requests.

The PSRP fragments come from psrpcore's client runspace pool, a complete PSRP
client, so these tests check the handler's protocol behaviour without the HTTP
layer: faults, quotas, pending receives, signals and fragmentation.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from psrpcore import (
    ClientPowerShell,
    ClientRunspacePool,
    ErrorRecordEvent,
    PipelineOutputEvent,
    PipelineStateEvent,
    ProgressRecordEvent,
    PSRPPayload,
    StreamType,
)
from psrpcore.types import PSInvocationState, RunspacePoolState

from makaudit.testing.machine import HostFaults, MachineDescription
from makaudit.testing.server.base import NS, WSManFault, WSManPending, WSManRequest, WSManResponse
from makaudit.testing.server.psrp import (
    ACTION_COMMAND,
    ACTION_CREATE,
    ACTION_DELETE,
    ACTION_RECEIVE,
    ACTION_SEND,
    ACTION_SIGNAL,
    COMMAND_STATE_DONE,
    MAX_SHELLS_PER_USER,
    SIGNAL_TERMINATE,
    PowerShellHandler,
)

RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
COLLECTION_SCRIPT = "Get-CimInstance -ClassName SoftwareLicensingProduct | ConvertTo-Json"
RSP = NS["rsp"]


def make_machine(faults: HostFaults | None = None, products: int = 1, address: str = "127.0.30.1") -> MachineDescription:
    document = {
        "format": "makaudit-endpoint",
        "version": 1,
        "computer": {"name": "PC-0042"},
        "products": [{"Name": f"Windows product {index}", "PartialProductKey": "3V66T"} for index in range(products)],
        "errors": [],
    }
    return MachineDescription(name="PC-0042", document=document, slmgr_text="", address=address, faults=faults or HostFaults())


class HandlerClient:
    """A PSRP client that talks to a PowerShellHandler through WSManRequest objects."""

    def __init__(self, handler: PowerShellHandler, machine: MachineDescription, username: str = "alice") -> None:
        self.handler = handler
        self.machine = machine
        self.username = username
        self.pool = ClientRunspacePool()
        self.shell_id = str(self.pool.runspace_pool_id).upper()
        self.max_envelope_size = 153600
        self.operation_timeout = 20.0

    def request(self, action: str, body: list[ET.Element], selectors: dict[str, str] | None = None) -> WSManResponse:
        header = ET.Element(f"{{{NS['s']}}}Header")
        ET.SubElement(header, f"{{{NS['a']}}}To").text = f"http://{self.machine.target}/wsman"
        ET.SubElement(header, f"{{{NS['w']}}}MaxEnvelopeSize").text = str(self.max_envelope_size)
        body_element = ET.Element(f"{{{NS['s']}}}Body")
        body_element.extend(body)
        request = WSManRequest(
            action=action,
            resource_uri=RESOURCE_URI,
            message_id=f"uuid:{uuid.uuid4()}",
            header=header,
            body=body_element,
            machine=self.machine,
            username=self.username,
            selectors=selectors if selectors is not None else {"ShellId": self.shell_id},
            operation_timeout_seconds=self.operation_timeout,
        )
        return self.handler.handle(request)

    def create(self, idle_timeout: str | None = None) -> WSManResponse:
        self.pool.open()
        payload = self.pool.data_to_send()
        assert payload is not None
        shell = ET.Element(f"{{{RSP}}}Shell", ShellId=self.shell_id)
        ET.SubElement(shell, f"{{{RSP}}}InputStreams").text = "stdin pr"
        ET.SubElement(shell, f"{{{RSP}}}OutputStreams").text = "stdout"
        if idle_timeout is not None:
            ET.SubElement(shell, f"{{{RSP}}}IdleTimeOut").text = idle_timeout
        ET.SubElement(shell, f"{{{NS['pwsh']}}}creationXml").text = base64.b64encode(payload.data).decode()
        return self.request(ACTION_CREATE, [shell], selectors={})

    def open(self) -> None:
        self.create()
        while self.pool.state != RunspacePoolState.Opened:
            self.receive(None)

    def receive(self, command_id: str | None) -> tuple[list[Any], str | None]:
        receive = ET.Element(f"{{{RSP}}}Receive")
        desired = ET.SubElement(receive, f"{{{RSP}}}DesiredStream")
        desired.text = "stdout"
        if command_id is not None:
            desired.set("CommandId", command_id)

        response = self.request(ACTION_RECEIVE, [receive])
        events = []
        for stream in response.body[0].findall("rsp:Stream", NS):
            self.pool.receive_data(PSRPPayload(base64.b64decode(stream.text or ""), StreamType.default, None))
            while (event := self.pool.next_event()) is not None:
                events.append(event)

        state = response.body[0].find("rsp:CommandState", NS)
        return events, state.get("State") if state is not None else None

    def start(self, script: str) -> tuple[ClientPowerShell, str]:
        powershell = ClientPowerShell(self.pool)
        powershell.add_script(script)
        powershell.start()
        payload = self.pool.data_to_send()
        assert payload is not None
        command_id = str(powershell.pipeline_id).upper()

        command_line = ET.Element(f"{{{RSP}}}CommandLine", CommandId=command_id)
        ET.SubElement(command_line, f"{{{RSP}}}Command").text = ""
        ET.SubElement(command_line, f"{{{RSP}}}Arguments").text = base64.b64encode(payload.data).decode()
        response = self.request(ACTION_COMMAND, [command_line])
        assert response.body[0].findtext("rsp:CommandId", namespaces=NS) == command_id
        return powershell, command_id

    def receive_until_done(self, command_id: str, max_requests: int = 50) -> list[Any]:
        events: list[Any] = []
        for _ in range(max_requests):
            try:
                new_events, state = self.receive(command_id)
            except WSManPending as pending:
                time.sleep(min(pending.ready_in_seconds, 1.0))
                continue
            events.extend(new_events)
            if state == COMMAND_STATE_DONE:
                return events
        raise AssertionError(f"command {command_id} not done after {max_requests} Receive requests")

    def signal(self, command_id: str, code: str) -> WSManResponse:
        signal = ET.Element(f"{{{RSP}}}Signal", CommandId=command_id)
        ET.SubElement(signal, f"{{{RSP}}}Code").text = code
        return self.request(ACTION_SIGNAL, [signal])


def outputs(events: list[Any]) -> list[Any]:
    return [event.data for event in events if isinstance(event, PipelineOutputEvent)]


def final_state(events: list[Any]) -> PSInvocationState:
    states = [event.state for event in events if isinstance(event, PipelineStateEvent)]
    return states[-1]


@pytest.fixture
def handler() -> PowerShellHandler:
    return PowerShellHandler()


def test_collection_script_returns_document(handler: PowerShellHandler) -> None:
    machine = make_machine()
    client = HandlerClient(handler, machine)
    client.open()

    _, command_id = client.start(COLLECTION_SCRIPT)
    events = client.receive_until_done(command_id)

    assert [json.loads(value) for value in outputs(events)] == [machine.document]
    assert final_state(events) == PSInvocationState.Completed
    assert not [event for event in events if isinstance(event, ErrorRecordEvent)]


def test_create_response_names_shell(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    response = client.create()

    created, shell = response.body
    selector = created.find("a:ReferenceParameters/w:SelectorSet/w:Selector", NS)
    assert response.action == ACTION_CREATE + "Response"
    assert selector is not None
    assert selector.get("Name") == "ShellId"
    assert selector.text == client.shell_id
    assert shell.findtext("rsp:ShellId", namespaces=NS) == client.shell_id
    assert shell.findtext("rsp:ResourceUri", namespaces=NS) == RESOURCE_URI
    assert shell.findtext("rsp:Owner", namespaces=NS) == "alice"


def test_unknown_command_gives_error_record(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()

    _, command_id = client.start("Get-NoSuchThing -Verbose")
    events = client.receive_until_done(command_id)
    errors = [event.record for event in events if isinstance(event, ErrorRecordEvent)]

    assert len(errors) == 1
    assert "Get-NoSuchThing" in str(errors[0])
    assert errors[0].FullyQualifiedErrorId == "CommandNotFoundException"
    assert errors[0].CategoryInfo.Reason == "CommandNotFoundException"
    assert errors[0].CategoryInfo.TargetName == "Get-NoSuchThing"
    assert outputs(events) == []
    assert final_state(events) == PSInvocationState.Completed


def test_progress_record_when_faulted(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine(HostFaults(progress_stderr=True)))
    client.open()

    _, command_id = client.start(COLLECTION_SCRIPT)
    events = client.receive_until_done(command_id)
    progress = [event for event in events if isinstance(event, ProgressRecordEvent)]

    assert len(progress) == 1
    assert progress[0].record.Activity == "Preparing modules for first use."
    assert len(outputs(events)) == 1


def test_wmi_broken_document_has_error_entry(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine(HostFaults(wmi_broken=True)))
    client.open()

    _, command_id = client.start(COLLECTION_SCRIPT)
    document = json.loads(outputs(client.receive_until_done(command_id))[0])

    assert document["products"] == []
    assert document["errors"][0]["source"] == "wmi"


def test_quota_fault_on_create(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine(HostFaults(quota_limit=True)))

    with pytest.raises(WSManFault) as caught:
        client.create()

    assert caught.value.code == "w:QuotaLimit"
    assert caught.value.wsman_code == 2150859173
    assert handler.session_count() == 0


def test_shell_quota_per_user(handler: PowerShellHandler) -> None:
    machine = make_machine()
    for _ in range(MAX_SHELLS_PER_USER):
        HandlerClient(handler, machine).create()

    with pytest.raises(WSManFault) as caught:
        HandlerClient(handler, machine).create()
    HandlerClient(handler, machine, username="bob").create()
    HandlerClient(handler, make_machine(address="127.0.30.2")).create()

    assert caught.value.wsman_code == 2150859173
    assert handler.session_count(machine.target) == MAX_SHELLS_PER_USER + 1


def test_unknown_shell_id_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.shell_id = str(uuid.uuid4()).upper()

    with pytest.raises(WSManFault) as caught:
        client.receive(None)

    assert caught.value.code == "w:InvalidSelectors"
    assert caught.value.wsman_code == 2150858843
    assert client.shell_id in caught.value.reason


def test_other_user_denied(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()
    client.username = "mallory"

    with pytest.raises(WSManFault) as caught:
        client.receive(None)

    assert caught.value.code == "w:AccessDenied"


def test_same_shell_id_on_other_host_is_separate(handler: PowerShellHandler) -> None:
    first = HandlerClient(handler, make_machine(address="127.0.30.1"))
    first.open()
    second = HandlerClient(handler, make_machine(address="127.0.30.2"))
    second.shell_id = first.shell_id

    with pytest.raises(WSManFault) as caught:
        second.receive(None)

    assert caught.value.code == "w:InvalidSelectors"


def test_pending_until_script_time_passes(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine(HostFaults(script_seconds=0.3)))
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)

    first_events, _ = client.receive(command_id)
    with pytest.raises(WSManPending) as caught:
        client.receive(command_id)
    events = client.receive_until_done(command_id)

    assert all(not isinstance(event, PipelineOutputEvent) for event in first_events)
    assert 0.0 < caught.value.ready_in_seconds <= 0.3
    assert len(outputs(events)) == 1


def test_pending_is_capped_by_operation_timeout(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine(HostFaults(script_seconds=120.0)))
    client.operation_timeout = 5.0
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)
    client.receive(command_id)

    with pytest.raises(WSManPending) as caught:
        client.receive(command_id)

    assert caught.value.ready_in_seconds == pytest.approx(5.0)


def test_idle_pool_receive_waits_full_timeout(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.operation_timeout = 7.0
    client.open()

    with pytest.raises(WSManPending) as caught:
        client.receive(None)

    assert caught.value.ready_in_seconds == pytest.approx(7.0)


def test_ctrl_c_stops_running_pipeline(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine(HostFaults(script_seconds=120.0)))
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)

    client.signal(command_id, "powershell/signal/crtl_c")
    events = client.receive_until_done(command_id)

    assert final_state(events) == PSInvocationState.Stopped
    assert outputs(events) == []


def test_terminate_removes_pipeline(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)
    client.receive_until_done(command_id)

    client.signal(command_id, SIGNAL_TERMINATE)
    with pytest.raises(WSManFault) as caught:
        client.receive(command_id)

    assert caught.value.code == "w:InvalidParameter"
    assert command_id in caught.value.reason


def test_unknown_signal_code_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)

    with pytest.raises(WSManFault) as caught:
        client.signal(command_id, "signal/reboot")

    assert "signal/reboot" in caught.value.reason


def test_delete_removes_shell(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()

    response = client.request(ACTION_DELETE, [])
    with pytest.raises(WSManFault) as caught:
        client.receive(None)

    assert response.action == ACTION_DELETE + "Response"
    assert handler.session_count() == 0
    assert caught.value.wsman_code == 2150858843


def test_idle_shell_is_reaped(handler: PowerShellHandler) -> None:
    machine = make_machine()
    idle = HandlerClient(handler, machine)
    idle.create(idle_timeout="PT0.050S")
    time.sleep(0.1)

    HandlerClient(handler, machine).create()

    assert handler.session_count(machine.target) == 1
    with pytest.raises(WSManFault):
        idle.receive(None)


def test_large_output_spans_receives(handler: PowerShellHandler) -> None:
    machine = make_machine(products=6000)
    client = HandlerClient(handler, machine)
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)

    receives = 0
    events: list[Any] = []
    for _ in range(20):
        new_events, state = client.receive(command_id)
        receives += 1
        events.extend(new_events)
        if state == COMMAND_STATE_DONE:
            break

    assert len(json.dumps(machine.document)) > 2 * 153600
    assert receives >= 3
    assert [json.loads(value) for value in outputs(events)] == [machine.document]


def test_fragmented_create_pipeline_via_send(handler: PowerShellHandler) -> None:
    machine = make_machine()
    client = HandlerClient(handler, machine)
    client.open()
    powershell = ClientPowerShell(client.pool)
    powershell.add_script(COLLECTION_SCRIPT + " " + "#" * 4000)
    powershell.start()
    first = client.pool.data_to_send(1000)
    assert first is not None
    command_id = str(powershell.pipeline_id).upper()

    command_line = ET.Element(f"{{{RSP}}}CommandLine", CommandId=command_id)
    ET.SubElement(command_line, f"{{{RSP}}}Arguments").text = base64.b64encode(first.data).decode()
    client.request(ACTION_COMMAND, [command_line])
    sends = 0
    while (payload := client.pool.data_to_send(1000)) is not None:
        send = ET.Element(f"{{{RSP}}}Send")
        ET.SubElement(send, f"{{{RSP}}}Stream", Name="stdin", CommandId=command_id).text = base64.b64encode(
            payload.data
        ).decode()
        client.request(ACTION_SEND, [send])
        sends += 1
    events = client.receive_until_done(command_id)

    assert sends >= 3
    assert [json.loads(value) for value in outputs(events)] == [machine.document]


@pytest.mark.parametrize(
    ("creation_xml", "expected"),
    [
        ("", "no creationXml"),
        ("not base64 at all!", "not valid base64"),
        (base64.b64encode(b"\x00" * 40).decode(), "PSRP data sent to shell"),
    ],
)
def test_bad_creation_xml_fault(handler: PowerShellHandler, creation_xml: str, expected: str) -> None:
    client = HandlerClient(handler, make_machine())
    shell = ET.Element(f"{{{RSP}}}Shell", ShellId=client.shell_id)
    ET.SubElement(shell, f"{{{NS['pwsh']}}}creationXml").text = creation_xml

    with pytest.raises(WSManFault) as caught:
        client.request(ACTION_CREATE, [shell], selectors={})

    assert caught.value.code == "w:InvalidParameter"
    assert expected in caught.value.reason
    assert handler.session_count() == 0


def test_create_without_shell_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())

    with pytest.raises(WSManFault) as caught:
        client.request(ACTION_CREATE, [], selectors={})

    assert "rsp:Shell" in caught.value.reason


def test_command_id_not_guid_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()
    command_line = ET.Element(f"{{{RSP}}}CommandLine", CommandId="cmd-1")
    ET.SubElement(command_line, f"{{{RSP}}}Arguments").text = ""

    with pytest.raises(WSManFault) as caught:
        client.request(ACTION_COMMAND, [command_line])

    assert "'cmd-1'" in caught.value.reason


def test_command_without_id_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()
    command_line = ET.Element(f"{{{RSP}}}CommandLine")
    ET.SubElement(command_line, f"{{{RSP}}}Arguments").text = ""

    with pytest.raises(WSManFault) as caught:
        client.request(ACTION_COMMAND, [command_line])

    assert "no CommandId" in caught.value.reason


def test_duplicate_command_id_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())
    client.open()
    _, command_id = client.start(COLLECTION_SCRIPT)
    command_line = ET.Element(f"{{{RSP}}}CommandLine", CommandId=command_id)
    ET.SubElement(command_line, f"{{{RSP}}}Arguments").text = ""

    with pytest.raises(WSManFault) as caught:
        client.request(ACTION_COMMAND, [command_line])

    assert "already in use" in caught.value.reason


def test_unsupported_action_fault(handler: PowerShellHandler) -> None:
    client = HandlerClient(handler, make_machine())

    with pytest.raises(WSManFault) as caught:
        client.request("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", [])

    assert caught.value.code == "a:ActionNotSupported"


def test_handles_powershell_uris_only(handler: PowerShellHandler) -> None:
    assert handler.handles(RESOURCE_URI)
    assert handler.handles("http://schemas.microsoft.com/powershell/microsoft.powershell32")
    assert not handler.handles("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd")
