"""What ``slmgr.vbs`` prints, per display language, as data.

slmgr.vbs loads its strings from ``slmgr\\<LANGID>\\slmgr.ini`` next to the
script and falls back to the English constant compiled into the script for any
string the ini lacks, so one output can mix languages. The parser therefore
tries every language's labels on every line, and a new language is one more
``SlmgrLanguage`` entry in ``LANGUAGES``, never new code.

A line of ``/dli`` or ``/dlv`` is ``indent + label + separator + value``. The
canonical text of each entry is the first one of its tuple: the test fleet
renders slmgr output from it, so the English canonical texts are exactly the
ones slmgr.vbs prints. Labels are stored without the separator; the parser
accepts ``:`` and the full-width ``：`` with or without a space after it.

Entries marked ``NOTE: guessed`` come from scripts written by native speakers
rather than from captured output. The parser accepts them, but no capture
shows Windows printing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from makaudit.model import LicenseStatus

FIELDS: tuple[str, ...] = (
    "service_version",
    "name",
    "description",
    "activation_id",
    "application_id",
    "extended_pid",
    "product_key_channel",
    "installation_id",
    "use_license_url",
    "validation_url",
    "product_key_certificate_url",
    "processor_certificate_url",
    "machine_certificate_url",
    "partial_product_key",
    "license_status",
    "notification_reason",
    "volume_expiration",
    "timebased_expiration",
    "avma_expiration",
    "time_remaining",
    "remaining_windows_rearm",
    "remaining_sku_rearm",
    "remaining_app_rearm",
    "trusted_time",
    "configured_activation_type",
    "cmid",
    "kms_machine_registered",
    "kms_machine_dns",
    "kms_machine_ip",
    "kms_machine_extended_pid",
    "activation_interval",
    "renewal_interval",
    "kms_current_count",
    "kms_listening_port",
    "kms_priority",
)
"""Every field a label can name, in the order slmgr /dlv prints them."""

INDENTED_FIELDS: frozenset[str] = frozenset(
    {
        "cmid",
        "kms_machine_registered",
        "kms_machine_dns",
        "kms_machine_ip",
        "kms_machine_extended_pid",
        "activation_interval",
        "renewal_interval",
        "kms_current_count",
        "kms_listening_port",
        "kms_priority",
    }
)
"""Fields slmgr prints inside the KMS client or KMS host block, indented by four spaces."""

SENTENCES: tuple[str, ...] = (
    "not_in_use",
    "recent_activation",
    "kms_client_info",
    "kms_host_enabled",
    "kms_host_requests",
    "use_ato",
    "kms_host_caching_enabled",
    "kms_host_caching_disabled",
    "dns_auto_discovery_unavailable",
    "not_available",
)
"""Fixed whole lines (no value) slmgr prints in /dlv output."""

XPR_KINDS: tuple[str, ...] = (
    "permanent",
    "volume",
    "timebased",
    "avma",
    "initial_grace",
    "additional_grace",
    "non_genuine_grace",
    "extended_grace",
    "notification",
    "unlicensed",
)
"""The sentences of slmgr /xpr, one per license state."""

XPR_STATUS: Mapping[str, LicenseStatus] = MappingProxyType(
    {
        "permanent": LicenseStatus.LICENSED,
        "volume": LicenseStatus.LICENSED,
        "timebased": LicenseStatus.LICENSED,
        "avma": LicenseStatus.LICENSED,
        "initial_grace": LicenseStatus.OOB_GRACE,
        "additional_grace": LicenseStatus.OOT_GRACE,
        "non_genuine_grace": LicenseStatus.NON_GENUINE_GRACE,
        "extended_grace": LicenseStatus.EXTENDED_GRACE,
        "notification": LicenseStatus.NOTIFICATION,
        "unlicensed": LicenseStatus.UNLICENSED,
    }
)
"""The license status each /xpr sentence states, the same in every language."""


@dataclass(frozen=True)
class SlmgrLanguage:
    """The strings slmgr.vbs prints in one display language.

    ``labels`` maps a field of ``FIELDS`` to its accepted label texts,
    ``statuses`` a License Status text to its code (the first text per code is
    canonical), ``sentences`` a name of ``SENTENCES`` to its whole-line texts,
    and ``xpr`` a kind of ``XPR_KINDS`` to the sentence that starts the /xpr
    line (a date follows the expiry and grace sentences). ``minute_units`` and
    ``day_units`` are the words of ``N minute(s) (D day(s))``.
    ``banner_markers`` are substrings of the Windows Script Host banner lines.
    The action fields recognise the output of /ato, /ipk, /rearm and the like.
    """

    code: str
    labels: Mapping[str, tuple[str, ...]]
    statuses: Mapping[str, LicenseStatus]
    sentences: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    xpr: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    minute_units: tuple[str, ...] = ()
    day_units: tuple[str, ...] = ()
    banner_markers: tuple[str, ...] = ()
    error_prefixes: tuple[str, ...] = ()
    """Words that start an error line of an action (``Error: 0xC004F074 ...``)."""
    activating_prefixes: tuple[str, ...] = ()
    """Start of the line /ato prints before it activates a product (``Activating <Name> (<ID>) ...``)."""
    success_sentences: tuple[str, ...] = ()
    """Lines (or their start) that report a successful action."""
    separator: str = ": "
    """Separator that slmgr prints between a label and its value."""

    def canonical_label(self, field_name: str) -> str | None:
        """Return the label slmgr prints for ``field_name`` in this language, or None when unknown."""
        texts = self.labels.get(field_name)
        return texts[0] if texts else None

    def canonical_status(self, status: LicenseStatus) -> str | None:
        """Return the License Status text slmgr prints for ``status`` in this language, or None when unknown."""
        for text, code in self.statuses.items():
            if code is status:
                return text
        return None

    def canonical_sentence(self, name: str) -> str | None:
        texts = self.sentences.get(name)
        return texts[0] if texts else None

    def canonical_xpr(self, kind: str) -> str | None:
        texts = self.xpr.get(kind)
        return texts[0] if texts else None


def _freeze(table: dict[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType(dict(table))


ENGLISH = SlmgrLanguage(
    code="en",
    labels=_freeze(
        {
            "service_version": ("Software licensing service version",),
            "name": ("Name",),
            "description": ("Description",),
            "activation_id": ("Activation ID",),
            "application_id": ("Application ID",),
            "extended_pid": ("Extended PID",),
            "product_key_channel": ("Product Key Channel",),
            "installation_id": ("Installation ID",),
            "use_license_url": ("Use License URL",),
            "validation_url": ("Validation URL",),
            "product_key_certificate_url": ("Product Key Certificate URL",),
            "processor_certificate_url": ("Processor Certificate URL",),
            "machine_certificate_url": ("Machine Certificate URL",),
            "partial_product_key": ("Partial Product Key",),
            "license_status": ("License Status",),
            "notification_reason": ("Notification Reason",),
            "volume_expiration": ("Volume activation expiration",),
            "timebased_expiration": ("Timebased activation expiration",),
            "avma_expiration": ("Automatic VM activation expiration",),
            "time_remaining": ("Time remaining",),
            "remaining_windows_rearm": ("Remaining Windows rearm count",),
            "remaining_sku_rearm": ("Remaining SKU rearm count",),
            "remaining_app_rearm": ("Remaining App rearm count",),
            "trusted_time": ("Trusted time",),
            "configured_activation_type": ("Configured Activation Type",),
            "cmid": ("Client Machine ID (CMID)",),
            "kms_machine_registered": ("Registered KMS machine name",),
            "kms_machine_dns": ("KMS machine name from DNS",),
            "kms_machine_ip": ("KMS machine IP address",),
            "kms_machine_extended_pid": ("KMS machine extended PID",),
            "activation_interval": ("Activation interval",),
            "renewal_interval": ("Renewal interval",),
            "kms_current_count": ("Current count",),
            "kms_listening_port": ("Listening on Port",),
            "kms_priority": ("KMS priority",),
        }
    ),
    statuses=MappingProxyType(
        {
            "Unlicensed": LicenseStatus.UNLICENSED,
            "Licensed": LicenseStatus.LICENSED,
            "Initial grace period": LicenseStatus.OOB_GRACE,
            "Additional grace period (KMS license expired or hardware out of tolerance)": LicenseStatus.OOT_GRACE,
            "Non-genuine grace period.": LicenseStatus.NON_GENUINE_GRACE,
            "Non-genuine grace period": LicenseStatus.NON_GENUINE_GRACE,
            "Notification": LicenseStatus.NOTIFICATION,
            "Extended grace period": LicenseStatus.EXTENDED_GRACE,
        }
    ),
    sentences=_freeze(
        {
            "not_in_use": ("This license is not in use.",),
            "recent_activation": ("Most recent activation information:",),
            "kms_client_info": ("Key Management Service client information",),
            "kms_host_enabled": ("Key Management Service is enabled on this machine",),
            "kms_host_requests": ("Key Management Service cumulative requests received from clients",),
            "use_ato": (
                "Please use slmgr.vbs /ato to activate and update KMS client information in order to update values.",
            ),
            "kms_host_caching_enabled": ("KMS host caching is enabled",),
            "kms_host_caching_disabled": ("KMS host caching is disabled",),
            "dns_auto_discovery_unavailable": ("DNS auto-discovery: KMS name not available",),
            "not_available": ("not available", "Not Available"),
        }
    ),
    xpr=_freeze(
        {
            "permanent": ("The machine is permanently activated.",),
            "volume": ("Volume activation will expire",),
            "timebased": ("Timebased activation will expire",),
            "avma": ("Automatic VM activation will expire",),
            "initial_grace": ("Initial grace period ends",),
            "additional_grace": ("Additional grace period ends",),
            "non_genuine_grace": ("Non-genuine grace period ends",),
            "extended_grace": ("Extended grace period ends",),
            "notification": ("Windows is in Notification mode",),
            "unlicensed": ("Unlicensed",),
        }
    ),
    minute_units=("minute(s)", "minutes", "minute"),
    day_units=("day(s)", "days", "day"),
    banner_markers=(
        "Windows Script Host Version",
        "Microsoft Corporation. All rights reserved.",
        "Microsoft Corporation. All Rights Reserved.",
    ),
    error_prefixes=("Error",),
    activating_prefixes=("Activating",),
    success_sentences=(
        "Product activated successfully.",
        "Installed product key",
        "Uninstalled product key successfully.",
        "Command completed successfully.",
        "Key Management Service machine name set to",
    ),
)

SIMPLIFIED_CHINESE = SlmgrLanguage(
    code="zh-CN",
    labels=_freeze(
        {
            # The only capture was copied by hand and reads 软件授权服务器版本, while scripts match 软件授权服务版本.
            "service_version": ("软件授权服务版本", "软件授权服务器版本"),
            "name": ("名称",),
            "description": ("描述",),
            "activation_id": ("激活 ID",),
            "application_id": ("应用程序 ID",),
            "extended_pid": ("扩展 PID",),
            "product_key_channel": ("产品密钥通道",),
            "installation_id": ("安装 ID",),
            "partial_product_key": ("部分产品密钥",),
            "license_status": ("许可证状态",),
            "volume_expiration": ("批量激活过期",),
            # NOTE: guessed from a collector script that matches 激活过期 for any expiration line.
            "timebased_expiration": ("基于时间的激活过期",),
            "remaining_windows_rearm": ("剩余 Windows 重置计数",),
            "remaining_sku_rearm": ("剩余 SKU 重置计数",),
            "trusted_time": ("信任时间",),
            "configured_activation_type": ("已配置的激活类型",),
            "cmid": ("客户端计算机 ID (CMID)",),
            "kms_machine_registered": ("已注册的 KMS 计算机名称",),
            "kms_machine_dns": ("来自 DNS 的 KMS 计算机名称",),
            "kms_machine_ip": ("KMS 计算机 IP 地址",),
            # The capture reads 计算扩展的 PID (a typo of the transcriber); keep both.
            "kms_machine_extended_pid": ("KMS 计算机扩展的 PID", "KMS 计算扩展的 PID"),
            "activation_interval": ("激活时间间隔",),
            "renewal_interval": ("续订间隔",),
        }
    ),
    statuses=MappingProxyType(
        {
            "未授权": LicenseStatus.UNLICENSED,
            "已授权": LicenseStatus.LICENSED,
            # NOTE: guessed from Chinese scripts, which match 初始宽限 and 通知.
            "初始宽限期": LicenseStatus.OOB_GRACE,
            "初始宽限": LicenseStatus.OOB_GRACE,
            "通知": LicenseStatus.NOTIFICATION,
            "通知模式": LicenseStatus.NOTIFICATION,
        }
    ),
    sentences=_freeze(
        {
            "recent_activation": ("最新激活信息",),
            "kms_client_info": ("密钥管理服务客户端信息",),
            "kms_host_caching_enabled": ("已启用 KMS 主机缓存",),
            "dns_auto_discovery_unavailable": ("KMS 名称不可用",),
            "not_available": ("不可用",),
        }
    ),
    xpr=_freeze(
        {
            "permanent": ("计算机已永久激活。",),
            "volume": ("批量激活将于",),
            "notification": ("Windows处于通知模式", "Windows 处于通知模式"),
        }
    ),
    minute_units=("分钟",),
    day_units=("天",),
    banner_markers=("版权所有(C) Microsoft Corporation", "保留所有权利"),
    error_prefixes=("错误",),
    activating_prefixes=("正在激活",),
    success_sentences=("成功地激活了产品",),
)

GERMAN = SlmgrLanguage(
    code="de",
    labels=_freeze(
        {
            "name": ("Name",),
            "license_status": ("Lizenzstatus",),
            "notification_reason": ("Benachrichtigungsgrund",),
            "timebased_expiration": ("Ablauf der zeitbegrenzten Aktivierung",),
            "product_key_channel": ("Product Key-Kanal",),
            # German slmgr prints this one label for both rearm counts (the Windows
            # count first, then the SKU count); the parser assigns them by position.
            "remaining_windows_rearm": ("Verbleibende Windows Rearm-Anzahl",),
            "remaining_sku_rearm": ("Verbleibende Windows Rearm-Anzahl",),
        }
    ),
    statuses=MappingProxyType(
        {
            "Lizenziert": LicenseStatus.LICENSED,
            "Benachrichtigung": LicenseStatus.NOTIFICATION,
        }
    ),
    day_units=("Tag(e)",),
    banner_markers=("Alle Rechte vorbehalten",),
    error_prefixes=("Fehler",),
    success_sentences=("Das Produkt wurde erfolgreich aktiviert.",),
)

SPANISH = SlmgrLanguage(
    code="es",
    labels=_freeze(
        {
            "service_version": ("Versión del Servicio de licencias de software",),
            "name": ("Nombre",),
            "description": ("Descripción",),
            "activation_id": ("Id. de activación",),
            "application_id": ("Id. de aplicación",),
            "extended_pid": ("PID extendido",),
            "product_key_channel": ("Canal de clave de producto",),
            "installation_id": ("Id. de instalación",),
            "use_license_url": ("URL de la licencia de uso",),
            "validation_url": ("URL de validación",),
            "partial_product_key": ("Clave de producto parcial",),
            "license_status": ("Estado de la licencia", "Estado de licencia"),
            "notification_reason": ("Razón de la notificación",),
            "remaining_windows_rearm": ("Recuento de rearmado de Windows restante",),
            "remaining_sku_rearm": ("Recuento de rearmados de SKU restantes",),
            "trusted_time": ("Hora de confianza",),
        }
    ),
    statuses=MappingProxyType(
        {
            "Con licencia": LicenseStatus.LICENSED,
            "con licencia": LicenseStatus.LICENSED,
        }
    ),
    banner_markers=("Reservados todos los derechos", "Windows Script Host versión"),
)

RUSSIAN = SlmgrLanguage(
    code="ru",
    labels=_freeze(
        {
            "license_status": ("Состояние лицензии",),
            "partial_product_key": ("Частичный ключ продукта",),
        }
    ),
    statuses=MappingProxyType(
        {
            # Two scripts from different Windows builds disagree; accept both.
            "Имеет лицензию": LicenseStatus.LICENSED,
            "имеет лицензию": LicenseStatus.LICENSED,
            "лицензировано": LicenseStatus.LICENSED,
        }
    ),
    banner_markers=("Сервер сценариев Windows", "Корпорация Майкрософт", "все права защищены"),
    error_prefixes=("Ошибка",),
    success_sentences=("Активация выполнена успешно.",),
)

JAPANESE = SlmgrLanguage(
    code="ja",
    labels=_freeze(
        {
            "description": ("説明",),
            "license_status": ("ライセンスの状態",),
        }
    ),
    statuses=MappingProxyType({"ライセンスされています": LicenseStatus.LICENSED}),
)

KOREAN = SlmgrLanguage(
    code="ko",
    labels=_freeze(
        {
            "activation_id": ("정품 인증 ID",),
            "installation_id": ("설치 ID",),
            "partial_product_key": ("부분 제품 키",),
            "license_status": ("라이선스 상태",),
        }
    ),
    statuses=MappingProxyType({"사용 허가됨": LicenseStatus.LICENSED}),
    banner_markers=("Windows Script Host 버전",),
)

TURKISH = SlmgrLanguage(
    code="tr",
    labels=_freeze(
        {
            # The second spellings are cp1254 text read as cp1252 (ı shows as ý).
            "product_key_channel": ("Ürün Anahtarı Kanalı", "Ürün Anahtarý Kanalý"),
            "kms_machine_registered": ("KMS makinesi adı", "KMS makinesi adý"),
            "kms_machine_ip": ("KMS makinesi IP adresi",),
        }
    ),
    statuses=MappingProxyType({}),
)

PORTUGUESE_BRAZIL = SlmgrLanguage(
    code="pt-BR",
    labels=_freeze(
        {
            # NOTE: guessed; one Brazilian script checks for this line, no capture.
            "license_status": ("Status da Licença",),
        }
    ),
    statuses=MappingProxyType({"Licenciado": LicenseStatus.LICENSED}),
)

SLOVAK = SlmgrLanguage(
    code="sk",
    labels=_freeze({}),
    statuses=MappingProxyType({}),
    banner_markers=("Windows Script Host verzia", "práva vyhradené", "pr va vyhraden"),
)

ITALIAN = SlmgrLanguage(
    code="it",
    labels=_freeze({}),
    statuses=MappingProxyType({}),
    banner_markers=("Tutti i diritti sono riservati",),
)

LANGUAGES: tuple[SlmgrLanguage, ...] = (
    ENGLISH,
    SIMPLIFIED_CHINESE,
    GERMAN,
    SPANISH,
    RUSSIAN,
    JAPANESE,
    KOREAN,
    TURKISH,
    PORTUGUESE_BRAZIL,
    SLOVAK,
    ITALIAN,
)
"""Every language the parser reads; English first, because slmgr falls back to it."""


def language(code: str) -> SlmgrLanguage:
    """Return the language with ``code`` (``en``, ``zh-CN``, ...), case-insensitively."""
    for entry in LANGUAGES:
        if entry.code.lower() == code.strip().lower():
            return entry
    known = ", ".join(entry.code for entry in LANGUAGES)
    raise KeyError(f"no slmgr label table for language {code!r}; known languages: {known}")
