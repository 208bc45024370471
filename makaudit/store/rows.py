"""Conversion between the model records (HostResult, LicenseRecord) and table rows."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from makaudit.model import (
    Application,
    Channel,
    ComputerIdentity,
    EndpointError,
    EndpointState,
    HostResult,
    HostStatus,
    LicenseRecord,
    LicenseStatus,
    RecordSource,
)
from makaudit.store.redaction import contains_full_product_key, mask_full_product_keys

logger = logging.getLogger(__name__)


def host_result_row(scan_id: int, result: HostResult, recorded_at: datetime) -> dict[str, Any]:
    """Return the ``host_results`` row of one result; full product keys in endpoint text are masked."""
    state = result.state
    computer = state.computer if state is not None else ComputerIdentity()
    return {
        "scan_id": scan_id,
        "target": result.target,
        "host_key": result.host_key,
        "computer_name": computer.name,
        "uuid": computer.uuid,
        "dns_host_name": computer.dns_host_name,
        "domain": computer.domain,
        "os_caption": computer.os_caption,
        "os_version": computer.os_version,
        "ui_culture": computer.ui_culture,
        "status": result.status.value,
        "error": _masked(result.error, result.target, "error message"),
        "collected_at": None if state is None else state.collected_at,
        "recorded_at": recorded_at,
        "duration_seconds": result.duration_seconds,
        "kms_machine": None if state is None else state.kms_machine,
        "origin": None if state is None else state.origin,
        "endpoint_errors": _endpoint_errors_json(result),
        "document": _document_json(result),
    }


def license_record_rows(host_result_id: int, records: Sequence[LicenseRecord]) -> list[dict[str, Any]]:
    """Return the ``license_records`` rows of one host result, in the order of its records."""
    return [_license_record_row(host_result_id, position, record) for position, record in enumerate(records)]


def _license_record_row(host_result_id: int, position: int, record: LicenseRecord) -> dict[str, Any]:
    partial_key = record.partial_product_key
    return {
        "host_result_id": host_result_id,
        "position": position,
        "application": record.application.value,
        "name": record.name,
        "description": record.description,
        "channel": record.channel.value,
        "partial_product_key": None if partial_key is None else partial_key.upper(),
        "license_status_code": record.license_status_code,
        "license_status_reason": record.license_status_reason,
        "grace_minutes": record.grace_minutes,
        "evaluation_end": record.evaluation_end,
        "kms_machine": record.kms_machine,
        "source": record.source.value,
        "activation_id": record.activation_id,
        "application_id": record.application_id,
        "product_key_channel": record.product_key_channel,
    }


def _masked(text: str | None, target: str, what: str) -> str | None:
    if text is None or not contains_full_product_key(text):
        return text
    logger.warning("masked a full product key in the %s of %s before storing it", what, target)
    return mask_full_product_keys(text)


def _endpoint_errors_json(result: HostResult) -> str:
    errors = () if result.state is None else result.state.errors
    text = json.dumps([error.to_dict() for error in errors], ensure_ascii=False, separators=(",", ":"))
    return _masked(text, result.target, "endpoint errors") or "[]"


def _document_json(result: HostResult) -> str | None:
    if result.state is None or result.state.document is None:
        return None
    text = json.dumps(result.state.document, ensure_ascii=False, separators=(",", ":"), default=str)
    return _masked(text, result.target, "endpoint document")


def rebuild_host_result(
    row: Mapping[str, Any],
    record_rows: Iterable[Mapping[str, Any]],
    include_document: bool = False,
) -> HostResult:
    """Rebuild a HostResult from its ``host_results`` row and its ``license_records`` rows.

    A failed result has no state. The endpoint document is parsed only when
    ``include_document`` is true, because documents are large.
    """
    status = HostStatus(row["status"])
    state = None
    if status is HostStatus.OK:
        state = _rebuild_state(row, record_rows, include_document)

    return HostResult(
        target=row["target"],
        status=status,
        state=state,
        error=row["error"],
        duration_seconds=row["duration_seconds"],
    )


def _rebuild_state(
    row: Mapping[str, Any],
    record_rows: Iterable[Mapping[str, Any]],
    include_document: bool,
) -> EndpointState:
    computer = ComputerIdentity(
        name=row["computer_name"],
        dns_host_name=row["dns_host_name"],
        domain=row["domain"],
        os_caption=row["os_caption"],
        os_version=row["os_version"],
        uuid=row["uuid"],
        ui_culture=row["ui_culture"],
    )
    errors = tuple(
        EndpointError(source=item["source"], message=item["message"], code=item.get("code"))
        for item in json.loads(row["endpoint_errors"])
    )
    document = None
    if include_document and row["document"] is not None:
        document = json.loads(row["document"])

    return EndpointState(
        computer=computer,
        collected_at=row["collected_at"],
        records=tuple(rebuild_license_record(record_row) for record_row in record_rows),
        errors=errors,
        kms_machine=row["kms_machine"],
        origin=row["origin"],
        document=document,
    )


def rebuild_license_record(row: Mapping[str, Any]) -> LicenseRecord:
    code = row["license_status_code"]
    return LicenseRecord(
        application=Application(row["application"]),
        name=row["name"],
        description=row["description"],
        channel=Channel(row["channel"]),
        partial_product_key=row["partial_product_key"],
        license_status=None if code is None else LicenseStatus(code),
        source=RecordSource(row["source"]),
        license_status_reason=row["license_status_reason"],
        grace_minutes=row["grace_minutes"],
        evaluation_end=row["evaluation_end"],
        kms_machine=row["kms_machine"],
        activation_id=row["activation_id"],
        application_id=row["application_id"],
        product_key_channel=row["product_key_channel"],
    )
