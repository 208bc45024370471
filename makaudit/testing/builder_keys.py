"""The fleet's Multiple Activation Keys: which keys exist, who gets which, and the inventory rows.

Each MAK has a role that decides its allotment once the fleet is built and its
activations are counted: an over-used key gets fewer activations than it has,
a near-limit key at least 90 %, and so on. Keys with the role ``UNKNOWN`` are
installed on hosts but left out of the inventory.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import date, timedelta

from makaudit.testing.builder_catalog import (
    OS_PROFILES,
    OFFICE_PROFILES,
    PRODUCT_KEY_ALPHABET,
    MakGroup,
)

INVENTORY_COLUMNS = (
    "key_id",
    "product",
    "partial_product_key",
    "allotment",
    "entitlement",
    "acquired",
    "rotate_by",
    "status",
    "custodian",
    "agreement",
    "notes",
)


class KeyRole(enum.StrEnum):
    """Audit category a MAK is built to fall into."""

    OVER_USED = "over_used"
    NEAR_LIMIT = "near_limit"
    ROOM = "room"
    ROTATION_DUE = "rotation_due"
    REVOKED = "revoked"
    RETIRED = "retired"
    UNUSED = "unused"
    UNKNOWN = "unknown"


_ROLE_PLAN: dict[str, tuple[KeyRole, ...]] = {
    "WIN-ENT": (KeyRole.OVER_USED, KeyRole.NEAR_LIMIT, KeyRole.ROOM, KeyRole.ROTATION_DUE, KeyRole.UNKNOWN, KeyRole.UNUSED),
    "WIN-PRO": (KeyRole.ROOM, KeyRole.REVOKED, KeyRole.UNKNOWN),
    "WIN-EDU": (KeyRole.NEAR_LIMIT, KeyRole.RETIRED),
    "SRV19-STD": (KeyRole.ROOM, KeyRole.NEAR_LIMIT),
    "SRV22-STD": (KeyRole.OVER_USED, KeyRole.ROOM),
    "SRV25-STD": (KeyRole.ROOM, KeyRole.UNUSED),
    "O19-PP": (KeyRole.NEAR_LIMIT, KeyRole.ROOM),
    "O21-PP": (KeyRole.OVER_USED, KeyRole.ROOM, KeyRole.UNKNOWN),
    "O21-STD": (KeyRole.ROOM, KeyRole.UNUSED),
}
"""Roles of the keys of each MAK group; groups not listed get one key with room."""

_PICK_WEIGHTS = {
    KeyRole.OVER_USED: 4,
    KeyRole.NEAR_LIMIT: 3,
    KeyRole.ROOM: 3,
    KeyRole.ROTATION_DUE: 1,
    KeyRole.REVOKED: 1,
    KeyRole.RETIRED: 1,
    KeyRole.UNKNOWN: 1,
}

_GUARANTEED_PICKS_PER_KEY = 2
"""The first picks of a group go round-robin so every installed key reaches a few hosts."""

_CUSTODIANS = {
    "WIN": "desktop-engineering@corp.example.test",
    "SRV": "server-operations@corp.example.test",
    "O": "office-platform@corp.example.test",
}

_NOTES = {
    KeyRole.OVER_USED: 'Top-up of 50 activations requested, reference "REQ-2291", not granted yet',
    KeyRole.NEAR_LIMIT: "Watch: close to its activation limit",
    KeyRole.ROOM: "",
    KeyRole.ROTATION_DUE: "Scheduled for replacement, new key ordered",
    KeyRole.REVOKED: "Blocked by Microsoft after it was posted on a forum; replace on every host",
    KeyRole.RETIRED: "Replaced by a newer key; remove from remaining hosts",
    KeyRole.UNUSED: "Spare key, never deployed",
}


@dataclass(frozen=True)
class MakKey:
    """One MAK of the fleet; ``key_id`` is None for keys missing from the inventory."""

    key_id: str | None
    group: MakGroup
    partial_product_key: str
    role: KeyRole


@dataclass(frozen=True)
class KeyCount:
    """Hosts that hold one MAK, counted over healthy hosts only."""

    activated: int
    installed_not_activated: int


class KeyPool:
    """The MAKs of every group and the deterministic choice of a key for a host."""

    def __init__(self, keys: list[MakKey]) -> None:
        self.keys = keys
        self._installable: dict[str, list[MakKey]] = {}
        for key in keys:
            if key.role is not KeyRole.UNUSED:
                self._installable.setdefault(key.group.code, []).append(key)
        self._weights = {
            code: [_PICK_WEIGHTS[key.role] for key in group_keys] for code, group_keys in self._installable.items()
        }
        self._picks: dict[str, int] = {}

    def pick(self, group: MakGroup, rng: random.Random) -> MakKey:
        """Return the MAK the next host with a product of ``group`` gets."""
        candidates = self._installable[group.code]
        count = self._picks.get(group.code, 0)
        self._picks[group.code] = count + 1

        if count < _GUARANTEED_PICKS_PER_KEY * len(candidates):
            return candidates[count % len(candidates)]
        return rng.choices(candidates, weights=self._weights[group.code])[0]


def mak_groups() -> list[MakGroup]:
    """Return every MAK group the fleet installs, in catalog order, each once."""
    groups: dict[str, MakGroup] = {}
    editions = [profile.edition for profile in OS_PROFILES] + [profile.edition for profile in OFFICE_PROFILES]
    for edition in editions:
        if edition.mak_group is not None:
            groups.setdefault(edition.mak_group.code, edition.mak_group)
    return list(groups.values())


def create_key_pool(rng: random.Random, reserved: frozenset[str]) -> KeyPool:
    """Draw the MAKs of every group; no partial key repeats or equals one in ``reserved``."""
    used_partials = set(reserved)
    keys: list[MakKey] = []

    for group in mak_groups():
        letters = iter("ABCDEFGHJKLMNPQRSTUVWXYZ")
        for role in _ROLE_PLAN.get(group.code, (KeyRole.ROOM,)):
            partial = draw_partial_key(rng, used_partials)
            used_partials.add(partial)
            key_id = None if role is KeyRole.UNKNOWN else f"{group.code}-MAK-{next(letters)}"
            keys.append(MakKey(key_id, group, partial, role))

    return KeyPool(keys)


def draw_partial_key(rng: random.Random, taken: set[str] | frozenset[str]) -> str:
    """Return five random product-key characters that are not in ``taken``."""
    for _attempt in range(1000):
        partial = "".join(rng.choices(PRODUCT_KEY_ALPHABET, k=5))
        if partial not in taken:
            return partial
    raise RuntimeError("could not draw a free partial product key in 1000 attempts; the reserved set is too large")


def allotment_for(role: KeyRole, activated: int) -> int:
    """Return the allotment that puts a key with ``activated`` hosts in the category of ``role``."""
    if role is KeyRole.OVER_USED and activated >= 2:
        return activated - max(1, activated // 8)
    if role in (KeyRole.OVER_USED, KeyRole.NEAR_LIMIT) and activated >= 1:
        # activated / (activated + activated // 20) stays at or above 95 %.
        return activated + activated // 20
    if role is KeyRole.UNUSED:
        return 50
    return _round_up(activated * 2 + 10, 10)


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def inventory_rows(
    pool: KeyPool,
    counts: dict[str, KeyCount],
    rng: random.Random,
    today: date,
) -> list[dict[str, str]]:
    """Return one inventory row per key listed in the inventory, in pool order, every value a string."""
    rows: list[dict[str, str]] = []

    for key in pool.keys:
        if key.key_id is None:
            continue

        count = counts.get(key.partial_product_key, KeyCount(0, 0))
        allotment = allotment_for(key.role, count.activated)
        entitlement = max(1, round(allotment / 1.1))
        acquired = today - timedelta(days=rng.randint(200, 1500))

        rotate_by = ""
        if key.role is KeyRole.ROTATION_DUE:
            rotate_by = (today - timedelta(days=rng.randint(10, 60))).isoformat()
        elif key.role not in (KeyRole.REVOKED, KeyRole.RETIRED):
            rotate_by = (today + timedelta(days=rng.randint(90, 900))).isoformat()

        status = {KeyRole.REVOKED: "revoked", KeyRole.RETIRED: "retired"}.get(key.role, "active")
        custodian = _CUSTODIANS[next(prefix for prefix in ("WIN", "SRV", "O") if key.group.code.startswith(prefix))]

        rows.append(
            {
                "key_id": key.key_id,
                "product": key.group.product,
                "partial_product_key": key.partial_product_key,
                "allotment": str(allotment),
                "entitlement": str(entitlement),
                "acquired": acquired.isoformat(),
                "rotate_by": rotate_by,
                "status": status,
                "custodian": custodian,
                "agreement": f"EA-{rng.randint(1000000, 9999999)}",
                "notes": _NOTES[key.role],
            }
        )

    return rows

