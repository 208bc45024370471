"""Render what ``cscript //nologo slmgr.vbs /dlv all`` prints on a planned host, in its UI language.

The layout follows real /dlv captures: a service version line, then one block
per SKU separated by blank lines, keyed products with their license state and
KMS client information, key-less SKUs with "This license is not in use.".
Labels come from the parser's table ``makaudit.parsing.slmgr_labels``; where a
language lacks a label, slmgr.vbs prints its built-in English string, and so
does this renderer, so one output can mix languages as on real machines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from makaudit.model import Application, Channel, LicenseStatus
from makaudit.parsing.slmgr_labels import ENGLISH, LANGUAGES, SlmgrLanguage
from makaudit.testing.builder_catalog import Culture, Sku
from makaudit.testing.builder_documents import (
    KMS_HOST_ADDRESS,
    KMS_HOST_EXTENDED_PID,
    VL_ACTIVATION_INTERVAL,
    VL_RENEWAL_INTERVAL,
)
from makaudit.testing.builder_hosts import (
    REASON_GRACE_EXPIRED,
    HostPlan,
    KmsMode,
    ProductState,
)

NEWLINE = "\r\n"
"""cscript writes CRLF line ends."""

INDENT = "    "
REASON_NON_GENUINE = 0xC004F200

_GRACE_STATES = (
    LicenseStatus.OOB_GRACE,
    LicenseStatus.OOT_GRACE,
    LicenseStatus.NON_GENUINE_GRACE,
    LicenseStatus.EXTENDED_GRACE,
)

_URL_LINES = (
    ("use_license_url", "https://activation-v2.sls.microsoft.com/SLActivateProduct/SLActivateProduct.asmx?configextension=Retail"),
    ("validation_url", "https://validation-v2.sls.microsoft.com/SLWGA/slwga.asmx"),
)


def rendered_languages() -> tuple[str, ...]:
    """Return the codes of the languages the fleet renders: every language of the parser's table."""
    return tuple(language.code for language in LANGUAGES)


@dataclass(frozen=True)
class _Line:
    """One localized label with its units, resolved once per language and field."""

    label: str
    separator: str
    minute_unit: str
    day_unit: str


class _Strings:
    """The texts of one language, each falling back to English where the language lacks it."""

    def __init__(self, language: SlmgrLanguage) -> None:
        self.language = language
        self._lines: dict[str, _Line] = {}

    def line(self, field: str) -> _Line:
        cached = self._lines.get(field)
        if cached is None:
            cached = self._lines[field] = self._resolve(field)
        return cached

    def _resolve(self, field: str) -> _Line:
        label = self.language.canonical_label(field)
        source = self.language if label is not None else ENGLISH
        if label is None:
            label = ENGLISH.canonical_label(field)
        if label is None:
            raise KeyError(f"slmgr label table has no English label for field {field!r}")
        minute = source.minute_units[0] if source.minute_units else ENGLISH.minute_units[0]
        day = source.day_units[0] if source.day_units else ENGLISH.day_units[0]
        return _Line(label, source.separator, minute, day)

    def field(self, field: str, value: object) -> str:
        line = self.line(field)
        return f"{line.label}{line.separator}{value}"

    def status(self, status: LicenseStatus) -> str:
        return self.language.canonical_status(status) or ENGLISH.canonical_status(status) or status.label

    def sentence(self, name: str) -> str:
        text = self.language.canonical_sentence(name) or ENGLISH.canonical_sentence(name)
        if text is None:
            raise KeyError(f"slmgr label table has no English sentence {name!r}")
        return text

    def minutes_and_days(self, field: str, minutes: int) -> str:
        line = self.line(field)
        days = math.ceil(minutes / 1440)
        return f"{line.label}{line.separator}{minutes} {line.minute_unit} ({days} {line.day_unit})"

    def interval(self, field: str, minutes: int) -> str:
        line = self.line(field)
        # English slmgr prints "minutes" here, not the "minute(s)" of the expiration lines.
        unit = "minutes" if line.minute_unit == ENGLISH.minute_units[0] else line.minute_unit
        return f"{line.label}{line.separator}{minutes} {unit}"


@lru_cache(maxsize=None)
def _strings(language_code: str) -> _Strings:
    for language in LANGUAGES:
        if language.code == language_code:
            return _Strings(language)
    known = ", ".join(rendered_languages())
    raise KeyError(f"no slmgr label table for language {language_code!r}; known: {known}")


def render_dlv_all(plan: HostPlan) -> str:
    """Return the slmgr /dlv all output of the planned host, CRLF line ends, ending with a newline."""
    strings = _strings(plan.culture.language_code)
    trusted_time = format_local_time(plan.trusted_time, plan.culture)

    blocks: list[str] = []
    for application in (Application.WINDOWS, Application.OFFICE):
        for product in plan.products:
            if product.sku.application is application:
                blocks.append(_keyed_block(strings, plan, product, trusted_time))
        for sku in plan.unused_skus:
            if sku.application is application:
                blocks.append(_unused_block(strings, sku, plan.windows_rearm))

    header = strings.field("service_version", plan.os.service_version)
    return NEWLINE.join([header, "", (NEWLINE + NEWLINE).join(blocks), ""])


def format_local_time(moment: datetime, culture: Culture) -> str:
    """Format ``moment`` as slmgr does in ``culture`` (the fleet's hosts run on UTC)."""
    hour12 = moment.hour % 12 or 12
    return culture.date_format.format(
        year=moment.year,
        month=moment.month,
        day=moment.day,
        hour=moment.hour,
        hour12=hour12,
        minute=moment.minute,
        second=moment.second,
        ampm="AM" if moment.hour < 12 else "PM",
    )


def _keyed_block(strings: _Strings, plan: HostPlan, product: ProductState, trusted_time: str) -> str:
    sku = product.sku
    channel = sku.channel
    lines = [
        strings.field("name", sku.name),
        strings.field("description", sku.description),
        strings.field("activation_id", sku.activation_id),
        strings.field("application_id", sku.application_id),
        strings.field("extended_pid", product.extended_pid),
        strings.field("product_key_channel", sku.product_key_channel),
        strings.field("installation_id", product.installation_id),
    ]
    if channel not in (Channel.KMS_CLIENT, Channel.AVMA):
        lines.extend(strings.field(field, url) for field, url in _URL_LINES)

    lines.append(strings.field("partial_product_key", product.partial_product_key))
    lines.append(strings.field("license_status", strings.status(product.status)))
    lines.extend(_state_lines(strings, product))
    lines.extend(_rearm_lines(strings, sku, plan.windows_rearm))
    lines.append(strings.field("trusted_time", trusted_time))

    if channel is Channel.KMS_CLIENT:
        lines.append(strings.field("configured_activation_type", "All"))
        if product.status is LicenseStatus.LICENSED:
            lines.extend(_kms_client_lines(strings, plan, product))
        else:
            lines.append(strings.sentence("use_ato"))

    return NEWLINE.join(lines)


def _state_lines(strings: _Strings, product: ProductState) -> list[str]:
    status = product.status
    minutes = product.grace_minutes

    if status is LicenseStatus.LICENSED and minutes > 0:
        field = {
            Channel.EVAL: "timebased_expiration",
            Channel.AVMA: "avma_expiration",
        }.get(product.sku.channel, "volume_expiration")
        return [strings.minutes_and_days(field, minutes)]
    if status in _GRACE_STATES:
        return [strings.minutes_and_days("time_remaining", minutes)]
    if status is LicenseStatus.NOTIFICATION:
        suffix = "."
        if product.reason == REASON_NON_GENUINE:
            suffix = " (non-genuine)."
        elif product.reason == REASON_GRACE_EXPIRED:
            suffix = " (grace time expired)."
        return [strings.field("notification_reason", f"0x{product.reason:08X}{suffix}")]
    return []


def _rearm_lines(strings: _Strings, sku: Sku, windows_rearm: int) -> list[str]:
    if sku.application is Application.WINDOWS:
        first = strings.field("remaining_windows_rearm", windows_rearm)
    else:
        first = strings.field("remaining_app_rearm", 1001)
    return [first, strings.field("remaining_sku_rearm", 1001)]


def _kms_client_lines(strings: _Strings, plan: HostPlan, product: ProductState) -> list[str]:
    lines = [
        "",
        strings.sentence("recent_activation"),
        strings.sentence("kms_client_info"),
        INDENT + strings.field("cmid", plan.client_machine_id),
    ]
    if plan.kms_mode is KmsMode.REGISTERED and product.kms_machine:
        lines.append(INDENT + strings.field("kms_machine_registered", product.kms_machine))
    elif product.kms_machine:
        lines.append(INDENT + strings.field("kms_machine_dns", product.kms_machine))
    else:
        lines.append(INDENT + strings.sentence("dns_auto_discovery_unavailable"))

    lines.extend(
        [
            INDENT + strings.field("kms_machine_ip", KMS_HOST_ADDRESS),
            INDENT + strings.field("kms_machine_extended_pid", KMS_HOST_EXTENDED_PID),
            INDENT + strings.interval("activation_interval", VL_ACTIVATION_INTERVAL),
            INDENT + strings.interval("renewal_interval", VL_RENEWAL_INTERVAL),
            INDENT + strings.sentence("kms_host_caching_enabled"),
        ]
    )
    return lines


@lru_cache(maxsize=4096)
def _unused_block(strings: _Strings, sku: Sku, windows_rearm: int) -> str:
    """Return the block of a key-less SKU; the few distinct blocks are cached, since every host repeats them."""
    lines = [
        strings.field("name", sku.name),
        strings.field("description", sku.description),
        strings.field("activation_id", sku.activation_id),
        strings.field("application_id", sku.application_id),
        strings.field("extended_pid", ""),
        strings.field("product_key_channel", ""),
        strings.field("installation_id", ""),
        strings.sentence("not_in_use"),
        strings.field("license_status", strings.status(LicenseStatus.UNLICENSED)),
        *_rearm_lines(strings, sku, windows_rearm),
        strings.field("trusted_time", ""),
    ]
    return NEWLINE.join(lines)
