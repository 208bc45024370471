"""Render a host plan as the endpoint document (format ``makaudit-endpoint``, version 1).

Property names are spelled as WMI spells them, uint32 values are JSON numbers,
unset strings are null, and dates are ISO 8601 UTC strings or null. The
service object never carries ``OA3xOriginalProductKey``, which is a full key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from makaudit.model import Channel, LicenseStatus, format_utc
from makaudit.testing.builder_catalog import DOMAIN, KMS_PORT, AVMA_HYPERV_HOST
from makaudit.testing.builder_hosts import HostPlan, ProductState

DOCUMENT_FORMAT = "makaudit-endpoint"
DOCUMENT_VERSION = 1

VL_ACTIVATION_INTERVAL = 120
VL_RENEWAL_INTERVAL = 10080
NOT_APPLICABLE = 4294967295
"""The uint32 value WMI reports for counters that do not apply (-1)."""

KMS_HOST_EXTENDED_PID = "06401-00206-271-392517-03-1033-17763.0000-2482019"
KMS_HOST_ADDRESS = "192.0.2.10"
"""Address slmgr reports for the KMS host: a documentation address, never contacted."""


def endpoint_document(plan: HostPlan, collected_at: datetime, slmgr_text: str | None) -> dict[str, Any]:
    """Return the document the collection script prints on the planned host."""
    return {
        "format": DOCUMENT_FORMAT,
        "version": DOCUMENT_VERSION,
        "collected_at": format_utc(collected_at),
        "computer": {
            "name": plan.name,
            "dns_host_name": plan.dns_host_name,
            "domain": DOMAIN,
            "os_caption": plan.os.caption,
            "os_version": plan.os.version,
            "uuid": plan.uuid,
            "ui_culture": plan.culture.name,
        },
        "service": service_properties(plan),
        "products": [product_properties(plan, product) for product in plan.products],
        "ospp_products": [],
        "slmgr_dlv": slmgr_text,
        "errors": [],
    }


def service_properties(plan: HostPlan) -> dict[str, Any]:
    """Return the SoftwareLicensingService instance of the planned host."""
    discovered = plan.service_kms_discovered
    oem_description = None
    if any(product.sku.channel is Channel.OEM for product in plan.products):
        oem_description = f"[4.0] {plan.os.edition.family} OEM:DM"

    return {
        "Version": plan.os.service_version,
        "ClientMachineID": plan.client_machine_id,
        "KeyManagementServiceMachine": plan.kms_registered,
        "KeyManagementServicePort": KMS_PORT,
        "KeyManagementServiceLookupDomain": None,
        "DiscoveredKeyManagementServiceMachineName": discovered,
        "DiscoveredKeyManagementServiceMachinePort": KMS_PORT if discovered else 0,
        "DiscoveredKeyManagementServiceMachineIpAddress": KMS_HOST_ADDRESS if discovered else None,
        "IsKeyManagementServiceMachine": 0,
        "KeyManagementServiceCurrentCount": NOT_APPLICABLE,
        "KeyManagementServiceHostCaching": True,
        "VLActivationInterval": VL_ACTIVATION_INTERVAL,
        "VLRenewalInterval": VL_RENEWAL_INTERVAL,
        "RemainingWindowsReArmCount": plan.windows_rearm,
        "PolicyCacheRefreshRequired": 0,
        "OA3xOriginalProductKeyDescription": oem_description,
    }


def product_properties(plan: HostPlan, product: ProductState) -> dict[str, Any]:
    """Return the SoftwareLicensingProduct instance of one keyed product."""
    sku = product.sku
    is_kms_client = sku.channel is Channel.KMS_CLIENT
    activated_by_kms = is_kms_client and product.kms_machine is not None and product.status is LicenseStatus.LICENSED

    return {
        "ID": sku.activation_id,
        "ApplicationID": sku.application_id,
        "Name": sku.name,
        "Description": sku.description,
        "LicenseFamily": sku.license_family,
        "ProductKeyChannel": sku.product_key_channel,
        "PartialProductKey": product.partial_product_key,
        "ProductKeyID": product.extended_pid,
        "OfflineInstallationId": product.installation_id,
        "LicenseStatus": int(product.status),
        "LicenseStatusReason": product.reason,
        "GracePeriodRemaining": product.grace_minutes,
        "EvaluationEndDate": format_utc(product.evaluation_end),
        "TrustedTime": format_utc(plan.trusted_time),
        "LicenseIsAddon": False,
        "KeyManagementServiceMachine": product.kms_registered,
        "KeyManagementServicePort": KMS_PORT if product.kms_registered else 0,
        "KeyManagementServiceLookupDomain": None,
        "DiscoveredKeyManagementServiceMachineName": product.kms_discovered,
        "DiscoveredKeyManagementServiceMachinePort": KMS_PORT if product.kms_discovered else 0,
        "DiscoveredKeyManagementServiceMachineIpAddress": KMS_HOST_ADDRESS if product.kms_discovered else None,
        "KeyManagementServiceProductKeyID": KMS_HOST_EXTENDED_PID if activated_by_kms else None,
        "IsKeyManagementServiceMachine": 0,
        "VLActivationInterval": VL_ACTIVATION_INTERVAL if is_kms_client else 0,
        "VLRenewalInterval": VL_RENEWAL_INTERVAL if is_kms_client else 0,
        "VLActivationTypeEnabled": 0,
        "AutomaticVMActivationHostMachineName": AVMA_HYPERV_HOST if sku.channel is Channel.AVMA else None,
        "RemainingAppReArmCount": 1001,
        "RemainingSkuReArmCount": 1001,
    }
