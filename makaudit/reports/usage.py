"""Key usage against allotment, as every report classifies and names it."""

from __future__ import annotations

import enum
import logging
from typing import Iterable

from makaudit.model import KeyUsage

logger = logging.getLogger(__name__)


class UsageState(enum.StrEnum):
    """Usage of a key compared with its allotment."""

    OVER = "over"
    """More hosts activated than the allotment allows."""
    NEAR = "near"
    """Utilization at or above the near-limit threshold, allotment not exceeded."""
    OK = "ok"
    UNKNOWN = "unknown"
    """No allotment: a MAK missing from the inventory, or an allotment of zero."""


def usage_state(key: KeyUsage, threshold: float) -> UsageState:
    """Classify ``key`` with the same rule the Excel conditional formatting applies."""
    if not key.allotment:
        return UsageState.UNKNOWN
    if key.activated > key.allotment:
        return UsageState.OVER
    if key.activated >= key.allotment * threshold:
        return UsageState.NEAR
    return UsageState.OK


class StatusAlert(enum.StrEnum):
    """Inventory status of a key that is still installed on hosts, when that status needs action."""

    BLOCKED = "blocked"
    """Revoked or compromised: no host may keep using the key."""
    RETIRED = "retired"
    """Being replaced: the rotation to the new key is not finished."""


_BLOCKED_STATUSES = frozenset({"revoked", "compromised"})


def is_in_use(key: KeyUsage) -> bool:
    """Return True when at least one host has the key installed, activated or not."""
    return key.activated + key.installed_not_activated > 0


def status_alert(key: KeyUsage) -> StatusAlert | None:
    """Return the alert of a revoked, compromised or retired key in use; None for an active or unused key."""
    if not key.key_status or not is_in_use(key):
        return None
    status = key.key_status.strip().lower()
    if status in _BLOCKED_STATUSES:
        return StatusAlert.BLOCKED
    if status == "retired":
        return StatusAlert.RETIRED
    return None


def key_label(key_id: str | None, partial_product_key: str, inventory_loaded: bool = True) -> str:
    """Name a key by its inventory ID, else by its partial key.

    A key without an ID reads ``not in inventory (7RW4K)`` when an inventory
    was loaded, and just ``7RW4K`` when none was: it was never matched.
    """
    if key_id:
        return key_id
    if inventory_loaded:
        return f"not in inventory ({partial_product_key})"
    return partial_product_key


class KeyIndex:
    """Inventory keys looked up by partial product key (case-insensitive)."""

    def __init__(self, keys: Iterable[KeyUsage]) -> None:
        self._by_partial: dict[str, KeyUsage] = {}
        for key in keys:
            partial = key.partial_product_key.upper()
            kept = self._by_partial.setdefault(partial, key)
            if kept is not key:
                # An endpoint shows only the last five characters, so two inventory keys
                # ending in them cannot be distinguished. The first one listed is shown.
                logger.warning(
                    "keys %s and %s share the partial product key %s; reports match hosts to %s",
                    kept.key_id,
                    key.key_id,
                    partial,
                    kept.key_id,
                )

    def find(self, partial_product_key: str | None) -> KeyUsage | None:
        if not partial_product_key:
            return None
        return self._by_partial.get(partial_product_key.upper())
