"""Plan one emulated host: its operating system, installed products, license states and KMS settings.

A plan holds the facts; ``builder_documents`` turns it into the endpoint
document and ``builder_slmgr`` into slmgr text, so both always agree.
All randomness comes from the one ``random.Random`` the caller passes, in a
fixed order, which keeps a fleet reproducible from its seed.
"""

from __future__ import annotations

import enum
import itertools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from makaudit.model import Application, Channel, LicenseStatus
from makaudit.testing.builder_catalog import (
    APPROVED_KMS_HOST,
    CULTURES,
    ESU_ADD_ONS,
    KMS_PORT,
    OFFICE_PROFILES,
    OFFICE_SHARE,
    OS_PROFILES,
    RETAIL_GENERIC_PRO_KEY,
    ROGUE_KMS_HOSTS,
    Culture,
    Edition,
    OsProfile,
    Sku,
)
from makaudit.testing.builder_keys import KeyPool, MakKey, draw_partial_key

KMS_ACTIVATION_MINUTES = 180 * 24 * 60
"""A KMS activation is valid for 180 days."""

OOB_GRACE_MINUTES = 30 * 24 * 60
AVMA_ACTIVATION_MINUTES = 7 * 24 * 60
GRACE_ENDING_MINUTES = 3 * 24 * 60
"""Grace periods the fleet calls "little time left" end within three days."""


def hresult(text: str) -> int:
    """Return the uint32 WMI stores for an HRESULT written as ``0xC004F009``."""
    return int(text, 16)


REASON_NONE = 0
REASON_OOB_GRACE = hresult("0x4004F00C")
REASON_OOT_GRACE = hresult("0x4004F00D")
REASON_VOLUME_LICENSED = hresult("0x4004F040")
REASON_TIMEBASED_VALIDITY = hresult("0x4004FC04")
REASON_STORE_LICENSE = hresult("0x4004F401")
REASON_GRACE_EXPIRED = hresult("0xC004F009")
REASON_GVLK_NOT_ACTIVATED = hresult("0xC004F056")
REASON_NO_DIGITAL_LICENSE = hresult("0xC004F034")
REASON_EVALUATION_FAILED = hresult("0xC004E003")
REASON_EVALUATION_EXPIRED = hresult("0xC004FC07")


class KmsMode(enum.StrEnum):
    """Discovery method of a host's KMS host."""

    DNS = "dns"
    """DNS auto-discovery, which finds the approved host."""
    REGISTERED = "registered"
    """A host name set with ``slmgr /skms``."""


@dataclass(frozen=True)
class ProductState:
    """One keyed product on one host, with the values WMI and slmgr report for it."""

    sku: Sku
    partial_product_key: str
    status: LicenseStatus
    reason: int
    """LicenseStatusReason as WMI stores it (a uint32 HRESULT)."""
    grace_minutes: int
    evaluation_end: datetime | None
    kms_registered: str | None
    """KMS host set with /skms, for KMS clients."""
    kms_discovered: str | None
    """KMS host found through DNS that activated this product, for licensed KMS clients."""
    mak_key: MakKey | None
    extended_pid: str
    installation_id: str

    @property
    def kms_machine(self) -> str | None:
        """The KMS host as ``host:port``: the registered one, else the one DNS discovery found."""
        host = self.kms_registered or self.kms_discovered
        return None if host is None else f"{host}:{KMS_PORT}"


@dataclass(frozen=True)
class HostPlan:
    """Everything the documents and the slmgr text of one host are rendered from."""

    index: int
    name: str
    uuid: str
    culture: Culture
    os: OsProfile
    client_machine_id: str
    products: tuple[ProductState, ...]
    unused_skus: tuple[Sku, ...]
    """Key-less SKUs that ``slmgr /dlv all`` lists with "This license is not in use."."""
    kms_mode: KmsMode | None
    kms_registered: str | None
    windows_rearm: int
    trusted_time: datetime

    @property
    def dns_host_name(self) -> str:
        return self.name.lower()

    @property
    def service_kms_discovered(self) -> str | None:
        """The KMS host DNS discovery found, machine-wide: set once a KMS client activated through it."""
        return next((product.kms_discovered for product in self.products if product.kms_discovered), None)

    @property
    def service_kms_machine(self) -> str | None:
        """The machine-wide KMS host as ``host:port``: the registered one, else the discovered one."""
        host = self.kms_registered or self.service_kms_discovered
        return None if host is None else f"{host}:{KMS_PORT}"

    def kms_machine_of(self, product: ProductState) -> str | None:
        """Return the KMS host a product uses: its own setting, else the machine-wide one for KMS clients."""
        if product.kms_machine is not None or product.sku.channel is not Channel.KMS_CLIENT:
            return product.kms_machine
        return self.service_kms_machine


def _cumulative(weights: list[int]) -> list[int]:
    return list(itertools.accumulate(weights))


_OS_CUMULATIVE = _cumulative([profile.weight for profile in OS_PROFILES])
_OFFICE_CUMULATIVE = _cumulative([profile.weight for profile in OFFICE_PROFILES])
_CULTURE_CUMULATIVE = _cumulative([culture.weight for culture in CULTURES])


class HostPlanner:
    """Plan hosts one after another from one random stream and one MAK pool."""

    def __init__(self, rng: random.Random, pool: KeyPool, now: datetime, reserved_keys: set[str]) -> None:
        self._rng = rng
        self._pool = pool
        self._now = now
        self._reserved_keys = reserved_keys
        self._evaluation_key = draw_partial_key(rng, reserved_keys)
        reserved_keys.add(self._evaluation_key)

    def plan(self, index: int) -> HostPlan:
        """Return the plan of host number ``index`` (1-based); call it in order for reproducible fleets."""
        rng = self._rng
        os_profile = rng.choices(OS_PROFILES, cum_weights=_OS_CUMULATIVE)[0]
        culture = rng.choices(CULTURES, cum_weights=_CULTURE_CUMULATIVE)[0]
        machine_uuid = str(uuid.UUID(int=rng.getrandbits(128))).upper()
        client_machine_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))

        kms_mode, kms_registered = self._kms_settings()
        installed = [(os_profile.edition, _choose(rng, os_profile.channels))]
        if not os_profile.is_server and rng.random() < OFFICE_SHARE:
            office = rng.choices(OFFICE_PROFILES, cum_weights=_OFFICE_CUMULATIVE)[0]
            installed.append((office.edition, _choose(rng, office.channels)))

        products = tuple(
            self._product(edition, channel, os_profile, culture, kms_mode, kms_registered)
            for edition, channel in installed
        )
        uses_kms = any(product.sku.channel is Channel.KMS_CLIENT for product in products)

        return HostPlan(
            index=index,
            name=f"PC-{index:04d}",
            uuid=machine_uuid,
            culture=culture,
            os=os_profile,
            client_machine_id=client_machine_id,
            products=products,
            unused_skus=_unused_skus(installed, os_profile),
            kms_mode=kms_mode if uses_kms else None,
            kms_registered=kms_registered if uses_kms else None,
            windows_rearm=5 if Channel.EVAL in os_profile.edition.skus else rng.choice((1001, 1001, 1000, 999)),
            trusted_time=self._now - timedelta(seconds=rng.randint(5, 3600)),
        )

    def _kms_settings(self) -> tuple[KmsMode, str | None]:
        draw = self._rng.random()
        if draw < 0.88:
            return KmsMode.DNS, None
        if draw < 0.93:
            return KmsMode.REGISTERED, APPROVED_KMS_HOST
        if draw < 0.97:
            return KmsMode.REGISTERED, ROGUE_KMS_HOSTS[0]
        return KmsMode.REGISTERED, ROGUE_KMS_HOSTS[1]

    def _product(
        self,
        edition: Edition,
        channel: Channel,
        os_profile: OsProfile,
        culture: Culture,
        kms_mode: KmsMode,
        kms_registered: str | None,
    ) -> ProductState:
        rng = self._rng
        sku = edition.skus[channel]
        mak_key: MakKey | None = None

        if channel is Channel.MAK:
            if edition.mak_group is None:
                raise RuntimeError(f"catalog error: {edition.family} has a MAK SKU but no MAK group")
            mak_key = self._pool.pick(edition.mak_group, rng)
            partial = mak_key.partial_product_key
        elif channel is Channel.KMS_CLIENT:
            partial = edition.gvlk or ""
        elif channel is Channel.AVMA:
            partial = edition.avma_key or ""
        elif channel is Channel.RETAIL:
            partial = RETAIL_GENERIC_PRO_KEY
        elif channel is Channel.EVAL:
            partial = self._evaluation_key
        else:
            partial = draw_partial_key(rng, self._reserved_keys)

        status, reason, grace, evaluation_end = self._license_state(channel)

        registered = kms_registered if channel is Channel.KMS_CLIENT and kms_mode is KmsMode.REGISTERED else None
        discovered = None
        if channel is Channel.KMS_CLIENT and kms_mode is KmsMode.DNS and status is LicenseStatus.LICENSED:
            discovered = APPROVED_KMS_HOST

        return ProductState(
            sku=sku,
            partial_product_key=partial,
            status=status,
            reason=reason,
            grace_minutes=grace,
            evaluation_end=evaluation_end,
            kms_registered=registered,
            kms_discovered=discovered,
            mak_key=mak_key,
            extended_pid=self._extended_pid(channel, edition, os_profile, culture),
            installation_id=f"{rng.getrandbits(210) % 10**63:063d}",
        )

    def _license_state(self, channel: Channel) -> tuple[LicenseStatus, int, int, datetime | None]:
        """Return status, reason, GracePeriodRemaining in minutes and evaluation end for a new product."""
        rng = self._rng
        draw = rng.random()

        if channel is Channel.MAK:
            if draw < 0.88:
                return LicenseStatus.LICENSED, REASON_NONE, 0, None
            if draw < 0.94:
                return LicenseStatus.OOB_GRACE, REASON_OOB_GRACE, self._grace_left(OOB_GRACE_MINUTES), None
            if draw < 0.98:
                return LicenseStatus.NOTIFICATION, REASON_GRACE_EXPIRED, 0, None
            return LicenseStatus.UNLICENSED, REASON_EVALUATION_FAILED, 0, None

        if channel is Channel.KMS_CLIENT:
            if draw < 0.86:
                elapsed = rng.randint(0, 10079) if rng.random() < 0.97 else rng.randint(10080, 200000)
                return LicenseStatus.LICENSED, REASON_VOLUME_LICENSED, KMS_ACTIVATION_MINUTES - elapsed, None
            if draw < 0.92:
                return LicenseStatus.OOB_GRACE, REASON_OOB_GRACE, self._grace_left(OOB_GRACE_MINUTES), None
            if draw < 0.95:
                return LicenseStatus.OOT_GRACE, REASON_OOT_GRACE, self._grace_left(OOB_GRACE_MINUTES), None
            reason = REASON_GVLK_NOT_ACTIVATED if rng.random() < 0.5 else REASON_GRACE_EXPIRED
            return LicenseStatus.NOTIFICATION, reason, 0, None

        if channel is Channel.RETAIL:
            if draw < 0.9:
                return LicenseStatus.LICENSED, REASON_STORE_LICENSE, 0, None
            return LicenseStatus.NOTIFICATION, REASON_NO_DIGITAL_LICENSE, 0, None

        if channel is Channel.OEM:
            return LicenseStatus.LICENSED, REASON_STORE_LICENSE, 0, None

        if channel is Channel.AVMA:
            return LicenseStatus.LICENSED, REASON_VOLUME_LICENSED, rng.randint(1440, AVMA_ACTIVATION_MINUTES), None

        # Evaluation: licensed while its time lasts, then Notification with the end date in the past.
        if draw < 0.85:
            minutes = rng.randint(20000, KMS_ACTIVATION_MINUTES)
            return LicenseStatus.LICENSED, REASON_TIMEBASED_VALIDITY, minutes, self._now + timedelta(minutes=minutes)
        ended = self._now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 1439))
        return LicenseStatus.NOTIFICATION, REASON_EVALUATION_EXPIRED, 0, ended

    def _grace_left(self, period: int) -> int:
        """Return the minutes left of a grace period; one in three ends within three days."""
        if self._rng.random() < 1 / 3:
            return self._rng.randint(60, GRACE_ENDING_MINUTES - 1)
        return self._rng.randint(GRACE_ENDING_MINUTES, period)

    def _extended_pid(self, channel: Channel, edition: Edition, os_profile: OsProfile, culture: Culture) -> str:
        """Return a ProductKeyID in the layout Windows uses; volume license keys keep the generic serial."""
        rng = self._rng
        build = os_profile.version.rsplit(".", 1)[-1]
        if edition.application is Application.OFFICE:
            prefix = "05426-00206"
        elif os_profile.is_server:
            prefix = "06401-02530"
        else:
            prefix = "03612-03311"

        if channel in (Channel.KMS_CLIENT, Channel.AVMA, Channel.RETAIL, Channel.EVAL):
            serial = "000-000001" if channel is not Channel.RETAIL else "000-000000"
        else:
            serial = f"{rng.randint(0, 999):03d}-{rng.randint(0, 999999):06d}"
        stamp = f"{rng.randint(1, 365):03d}{rng.randint(2019, 2026)}"
        return f"{prefix}-{serial}-03-{culture.lcid}-{build}.0000-{stamp}"


def _choose(rng: random.Random, weighted: tuple[tuple[Channel, int], ...]) -> Channel:
    channels = [channel for channel, _weight in weighted]
    weights = [weight for _channel, weight in weighted]
    return rng.choices(channels, weights=weights)[0]


def _unused_skus(installed: list[tuple[Edition, Channel]], os_profile: OsProfile) -> tuple[Sku, ...]:
    """Return the key-less SKUs slmgr /dlv all lists: other volume SKUs of each edition, and ESU on Windows 10."""
    unused: list[Sku] = []
    for edition, channel in installed:
        for other_channel, sku in edition.skus.items():
            if other_channel is not channel and other_channel in (Channel.MAK, Channel.KMS_CLIENT):
                unused.append(sku)
    if os_profile.caption.startswith("Microsoft Windows 10 "):
        unused.extend(ESU_ADD_ONS)
    return tuple(unused)
