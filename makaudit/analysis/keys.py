"""MAK usage: per partial product key, the hosts that activated it or only installed it.

Only records of the MAK channel count: a KMS client, retail, OEM, AVMA or
evaluation product never uses up a MAK activation, whatever its partial key.
A host counts once per key. It counts as activated when any of its MAK
records with that key is Licensed, otherwise as installed but not activated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from makaudit.analysis.frames import FleetFrames
from makaudit.inventory import Inventory
from makaudit.model import Channel, KeyUsage, LicenseStatus, ProductPosition


@dataclass(frozen=True)
class KeyTable:
    """Key usage rows, and the (partial key, host, licensed) pairs they were counted from."""

    usages: tuple[KeyUsage, ...]
    pairs: pd.DataFrame
    """One row per host and MAK partial key: ``partial_product_key``, ``host`` (position), ``licensed``."""

    def hosts_of(self, frames: FleetFrames, partial_product_keys: list[str], *, licensed_only: bool) -> dict[str, tuple[str, ...]]:
        """Return the sorted host labels per partial key, all hosts with the key installed or only activated ones."""
        selected = self.pairs[self.pairs["partial_product_key"].isin(partial_product_keys)]
        if licensed_only:
            selected = selected[selected["licensed"]]

        # Group with NumPy (one stable sort by key code), so Python only sorts the labels within each key.
        codes, keys = pd.factorize(selected["partial_product_key"].to_numpy())
        order = np.argsort(codes, kind="stable")
        labels = frames.hosts["label"].to_numpy()[selected["host"].to_numpy()[order]]
        groups = np.split(labels, np.cumsum(np.bincount(codes, minlength=len(keys)))[:-1])

        found = {key: tuple(sorted(group.tolist())) for key, group in zip(keys.tolist(), groups)}
        return {key: found.get(key, ()) for key in partial_product_keys}


def mak_pairs(frames: FleetFrames) -> pd.DataFrame:
    """Reduce the MAK records to one row per (partial key, host) with whether any of them is Licensed."""
    records = frames.records
    mak = records.loc[records["channel"] == Channel.MAK.value, ["partial_product_key", "host", "status"]]
    licensed = mak["status"] == int(LicenseStatus.LICENSED)

    pairs = (
        mak.assign(licensed=licensed)
        .groupby(["partial_product_key", "host"], observed=True, sort=False)["licensed"]
        .any()
        .reset_index()
    )
    pairs["partial_product_key"] = pairs["partial_product_key"].astype(str)
    return pairs


def key_usage(frames: FleetFrames, inventory: Inventory | None) -> KeyTable:
    """Count activations per inventory key, then per MAK seen on hosts but missing from the inventory.

    Inventory keys keep the inventory's order; unknown keys follow, sorted by partial key.
    """
    pairs = mak_pairs(frames)
    counts = pairs.groupby("partial_product_key", sort=True)["licensed"].agg(activated="sum", installed="size")
    activated = counts["activated"].astype(int).to_dict()
    installed = counts["installed"].astype(int).to_dict()

    usages: list[KeyUsage] = []
    known: set[str] = set()
    for key in inventory.keys if inventory is not None else ():
        partial = key.partial_product_key
        known.add(partial)
        usages.append(
            KeyUsage(
                key_id=key.key_id,
                partial_product_key=partial,
                product=key.product,
                allotment=key.allotment,
                activated=activated.get(partial, 0),
                installed_not_activated=installed.get(partial, 0) - activated.get(partial, 0),
                key_status=key.status.value,
                entitlement=key.entitlement,
            )
        )

    unknown = [partial for partial in counts.index if partial not in known]
    products = _product_names(frames, unknown)
    for partial in unknown:
        usages.append(
            KeyUsage(
                key_id=None,
                partial_product_key=partial,
                product=products.get(partial),
                allotment=None,
                activated=activated[partial],
                installed_not_activated=installed[partial] - activated[partial],
                key_status=None,
            )
        )
    return KeyTable(usages=tuple(usages), pairs=pairs)


def _product_names(frames: FleetFrames, partial_product_keys: list[str]) -> dict[str, str]:
    """Return the most common product name of the MAK records of each key, for keys missing from the inventory."""
    if not partial_product_keys:
        return {}
    records = frames.records
    mak = records[(records["channel"] == Channel.MAK.value) & records["partial_product_key"].isin(partial_product_keys)]
    counts = mak.groupby(["partial_product_key", "name"], observed=True).size().reset_index(name="count")
    counts = counts.sort_values(["partial_product_key", "count", "name"], ascending=[True, False, True])
    first = counts.drop_duplicates("partial_product_key")
    return dict(zip(first["partial_product_key"].astype(str), first["name"].astype(str)))


def product_positions(table: KeyTable, inventory: Inventory | None) -> tuple[ProductPosition, ...]:
    """Compare, per inventory product, the licenses owned with the hosts that have one of its MAKs installed.

    The entitlement is the sum of the product's keys that record one, and None
    when none does. A host with the product's MAK installed counts as deployed
    whether or not it is activated, because installation is what needs a license.
    """
    if inventory is None or not inventory.keys:
        return ()

    product_of_key = {key.partial_product_key: key.product for key in inventory.keys}
    pairs = table.pairs.assign(product=table.pairs["partial_product_key"].map(product_of_key))
    deployed = pairs.dropna(subset=["product"]).groupby("product")["host"].nunique().to_dict()

    entitlements: dict[str, int | None] = {}
    for key in inventory.keys:
        current = entitlements.get(key.product)
        if key.entitlement is not None:
            entitlements[key.product] = (current or 0) + key.entitlement
        else:
            entitlements.setdefault(key.product, None)

    return tuple(
        ProductPosition(product=product, entitlement=entitlement, deployed=int(deployed.get(product, 0)))
        for product, entitlement in entitlements.items()
    )
