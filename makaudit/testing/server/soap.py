"""SOAP 1.2 envelopes of WS-Management: decode a request, build a response or a fault."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from makaudit.testing.server.base import NS, WSManFault, WSManResponse

ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class EnvelopeError(ValueError):
    """A request body that is not a WS-Management SOAP envelope."""


@dataclass(frozen=True)
class DecodedEnvelope:
    """The header fields of one request envelope, its header and its body element."""

    action: str
    resource_uri: str
    message_id: str
    header: ET.Element
    body: ET.Element
    selectors: dict[str, str]
    options: dict[str, str]
    operation_timeout_seconds: float | None


def q(prefix: str, local: str) -> str:
    """Return the ElementTree name ``{namespace}local`` of a prefixed name such as ``rsp:Shell``."""
    return f"{{{NS[prefix]}}}{local}"


def parse_duration(text: str) -> float:
    """Return the seconds of an xs:duration such as ``PT20.000S``; raise ValueError when invalid."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT"):
        raise ValueError(f"invalid xs:duration {text!r}; expected a value such as PT20.000S")
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return parts.get("days", 0.0) * 86400 + parts.get("hours", 0.0) * 3600 + parts.get("minutes", 0.0) * 60 + parts.get("seconds", 0.0)


def decode_envelope(data: bytes) -> DecodedEnvelope:
    """Parse a request envelope; raise EnvelopeError naming what is missing."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise EnvelopeError(f"the request body is not XML: {error}") from error

    if root.tag != q("s", "Envelope"):
        raise EnvelopeError(f"the request root element is {root.tag}, expected a SOAP 1.2 Envelope")
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None or body is None:
        raise EnvelopeError("the SOAP envelope has no Header or no Body")

    action = _text(header, "a:Action")
    message_id = _text(header, "a:MessageID")
    resource_uri = _text(header, "w:ResourceURI")
    if not action or not message_id:
        raise EnvelopeError("the SOAP header has no Action or no MessageID")

    selectors = {item.get("Name", ""): (item.text or "") for item in header.findall("w:SelectorSet/w:Selector", NS)}
    options = {item.get("Name", ""): (item.text or "") for item in header.findall("w:OptionSet/w:Option", NS)}

    timeout_text = _text(header, "w:OperationTimeout")
    try:
        timeout = parse_duration(timeout_text) if timeout_text else None
    except ValueError as error:
        raise EnvelopeError(str(error)) from error

    return DecodedEnvelope(
        action=action,
        resource_uri=resource_uri,
        message_id=message_id,
        header=header,
        body=body,
        selectors=selectors,
        options=options,
        operation_timeout_seconds=timeout,
    )


def _text(parent: ET.Element, path: str) -> str:
    element = parent.find(path, NS)
    return (element.text or "").strip() if element is not None else ""


def _envelope(action: str, relates_to: str | None) -> tuple[ET.Element, ET.Element]:
    root = ET.Element(q("s", "Envelope"), {"{http://www.w3.org/XML/1998/namespace}lang": "en-US"})
    header = ET.SubElement(root, q("s", "Header"))
    ET.SubElement(header, q("a", "Action")).text = action
    ET.SubElement(header, q("a", "MessageID")).text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, q("a", "To")).text = ANONYMOUS
    if relates_to:
        ET.SubElement(header, q("a", "RelatesTo")).text = relates_to
    body = ET.SubElement(root, q("s", "Body"))
    return root, body


def build_response(response: WSManResponse, relates_to: str) -> bytes:
    """Serialize a handler's response as the reply to the request ``relates_to``."""
    root, body = _envelope(response.action, relates_to)
    body.extend(response.body)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def build_fault(fault: WSManFault, relates_to: str | None, machine: str) -> bytes:
    """Serialize a SOAP fault shaped like the WinRM service's (sent with HTTP status 500)."""
    root, body = _envelope(FAULT_ACTION, relates_to)
    fault_element = ET.SubElement(body, q("s", "Fault"))

    code = ET.SubElement(fault_element, q("s", "Code"))
    ET.SubElement(code, q("s", "Value")).text = "s:Receiver" if fault.code == "w:InternalError" else "s:Sender"
    subcode = ET.SubElement(code, q("s", "Subcode"))
    ET.SubElement(subcode, q("s", "Value")).text = fault.code

    reason = ET.SubElement(fault_element, q("s", "Reason"))
    ET.SubElement(reason, q("s", "Text"), {"{http://www.w3.org/XML/1998/namespace}lang": "en-US"}).text = fault.reason

    detail = ET.SubElement(fault_element, q("s", "Detail"))
    wsman_fault = ET.SubElement(detail, q("f", "WSManFault"), {"Code": str(fault.wsman_code), "Machine": machine})
    ET.SubElement(wsman_fault, q("f", "Message")).text = fault.machine_text

    return ET.tostring(root, encoding="utf-8", xml_declaration=False)
