"""The history document that ``makaudit history --json`` prints."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from makaudit.errors import UsageError
from makaudit.store.store import HistoryStore, normalize_partial_key

logger = logging.getLogger(__name__)


def history_document(
    store: HistoryStore,
    key_partial: str | None = None,
    host: str | None = None,
    key_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the history document: ``scans``, plus ``key_usage`` or ``host_records``.

    ``key_usage`` is present with ``key_partial`` (that key only) and when no
    filter is given (every MAK partial key, every scan). ``host`` adds
    ``host_records``, one entry per scan with that host's status and licenses.
    ``key_ids`` maps partial keys to inventory key ids; keys missing from it
    get ``key_id`` null. An invalid partial key or an empty host name raises
    UsageError.
    """
    key = _validated_key(key_partial)
    if host is not None and not host.strip():
        raise UsageError("--host needs a host name: pass a computer name, DNS name or target")

    document: dict[str, Any] = {"scans": [scan.to_dict() for scan in store.list_scans()]}

    if key is not None or host is None:
        document["key_usage"] = _key_usage_entries(store, key, key_ids or {})

    if host is not None:
        entries = store.host_history(host)
        if not entries:
            logger.info("no stored results for host %s in %s", host, store.path)
        document["host_records"] = [entry.to_dict() for entry in entries]

    return document


def _validated_key(key_partial: str | None) -> str | None:
    if key_partial is None:
        return None
    try:
        return normalize_partial_key(key_partial)
    except ValueError as error:
        raise UsageError(f"--key: {error}") from error


def _key_usage_entries(store: HistoryStore, key: str | None, key_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    normalized_ids = {partial.strip().upper(): key_id for partial, key_id in key_ids.items()}
    entries = []
    for point in store.key_usage(key):
        entry = point.to_dict()
        entry["key_id"] = normalized_ids.get(point.partial_product_key)
        entries.append(entry)
    return entries
