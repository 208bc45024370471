"""Turn SoftwareLicensingProduct / SoftwareLicensingService properties into license records.

Every WMI-shaped source goes through here: the endpoint document, raw
``ConvertTo-Json`` dumps, Format-List views, Zabbix and inventory-agent
exports. Property names are matched case-insensitively because
``Select-Object`` prints them as the user typed them (``trustedTime``).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from makaudit.analysis.classify import classify_application, classify_channel
from makaudit.model import Channel, LicenseRecord, LicenseStatus, RecordSource
from makaudit.parsing.slmgr_labels import LANGUAGES
from makaudit.parsing.text import format_hresult
from makaudit.parsing.values import kms_machine, parse_date, parse_int, text_or_none

logger = logging.getLogger(__name__)

PRODUCT_HINTS = frozenset(
    {
        "description",
        "licensestatus",
        "partialproductkey",
        "productkeychannel",
        "applicationid",
        "graceperiodremaining",
        "licensefamily",
        "productkeyid",
    }
)
"""Properties of which at least one marks a mapping as a SoftwareLicensingProduct."""

SERVICE_HINTS = frozenset(
    {
        "clientmachineid",
        "remainingwindowsrearmcount",
        "keymanagementservicelisteningport",
        "iskeymanagementservicemachine",
        "oa3xoriginalproductkeydescription",
        "vlactivationinterval",
    }
)
"""Properties that only SoftwareLicensingService has (or that a product mapping lacks)."""


class Properties:
    """Case-insensitive read access to one WMI object's properties."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = {str(key).lower(): value for key, value in values.items()}

    def get(self, name: str) -> Any:
        return self._values.get(name.lower())

    def has(self, name: str) -> bool:
        return name.lower() in self._values

    def text(self, name: str) -> str | None:
        return text_or_none(self.get(name))

    def keys(self) -> frozenset[str]:
        return frozenset(self._values)


def looks_like_product(values: Mapping[str, Any]) -> bool:
    """Tell whether a mapping is a SoftwareLicensingProduct (or OfficeSoftwareProtectionProduct) object."""
    keys = {str(key).lower() for key in values}
    if "__class" in keys:
        class_name = str(Properties(values).get("__CLASS") or "")
        return class_name.endswith("Product")
    if "name" in keys and keys & PRODUCT_HINTS:
        return True
    description = text_or_none(Properties(values).get("Description")) or ""
    return description.lower().endswith(" channel")


def looks_like_service(values: Mapping[str, Any]) -> bool:
    """Tell whether a mapping is a SoftwareLicensingService object."""
    keys = {str(key).lower() for key in values}
    if "__class" in keys:
        return str(Properties(values).get("__CLASS") or "").endswith("Service")
    if "name" in keys or "description" in keys:
        return False
    return bool(keys & SERVICE_HINTS) or "keymanagementservicemachine" in keys


def parse_license_status(value: Any) -> LicenseStatus | None:
    """Return the status a LicenseStatus value names: a code 0-6, a WMI name or an slmgr status text."""
    if value is None or isinstance(value, bool):
        return None
    number = parse_int(value)
    if number is not None:
        try:
            return LicenseStatus(number)
        except ValueError:
            return None

    text = text_or_none(value)
    if text is None:
        return None
    try:
        return LicenseStatus.from_label(text)
    except ValueError:
        pass
    for language in LANGUAGES:
        for status_text, status in language.statuses.items():
            if status_text.rstrip(".").lower() == text.rstrip(".").lower():
                return status
    return None


def service_kms_machine(service: Mapping[str, Any] | None) -> str | None:
    """Return the machine-wide KMS host: KeyManagementServiceMachine[:Port], else the discovered one."""
    if not service:
        return None
    return _kms_from(Properties(service))


def _kms_from(properties: Properties) -> str | None:
    registered = kms_machine(properties.get("KeyManagementServiceMachine"), properties.get("KeyManagementServicePort"))
    if registered:
        return registered
    return kms_machine(
        properties.get("DiscoveredKeyManagementServiceMachineName"),
        properties.get("DiscoveredKeyManagementServiceMachinePort"),
    )


def product_record(
    values: Mapping[str, Any],
    *,
    source: RecordSource = RecordSource.WMI,
    service_kms: str | None = None,
) -> LicenseRecord | None:
    """Build the record of one product; None when the product has no installed key.

    A product is dropped only when its PartialProductKey property is present
    and empty. A source that did not select that property (Zabbix, Ansible)
    keeps its products, with ``partial_product_key=None``. ``service_kms`` is the
    machine-wide KMS host, used for a KMS client product that names none itself.
    """
    properties = Properties(values)
    partial_key = properties.text("PartialProductKey")
    if properties.has("PartialProductKey") and partial_key is None:
        return None

    name = properties.text("Name") or ""
    description = properties.text("Description") or ""
    application_id = properties.text("ApplicationID") or properties.text("ApplicationId")
    key_channel = properties.text("ProductKeyChannel")
    application = classify_application(application_id, name, description)
    channel = classify_channel(
        description=description,
        product_key_channel=key_channel,
        partial_product_key=partial_key,
        name=name,
        application=application,
    )

    kms = _kms_from(properties)
    if kms is None and channel is Channel.KMS_CLIENT:
        kms = service_kms

    return LicenseRecord(
        application=application,
        name=name,
        description=description,
        channel=channel,
        partial_product_key=partial_key,
        license_status=parse_license_status(properties.get("LicenseStatus")),
        source=source,
        license_status_reason=format_hresult(properties.get("LicenseStatusReason")),
        grace_minutes=parse_int(properties.get("GracePeriodRemaining")),
        evaluation_end=parse_date(properties.get("EvaluationEndDate")),
        kms_machine=kms,
        activation_id=properties.text("ID"),
        application_id=application_id,
        product_key_channel=key_channel,
    )
