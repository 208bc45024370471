"""Catalogue of what the test fleet installs: Windows editions, Office volume SKUs, KMS hosts and UI cultures.

Names, Description tokens, ProductKeyChannel values, Application IDs and GVLK
last fives follow Microsoft's published tables and real captures. Activation
IDs are the real ones where a capture shows them. Every other SKU gets a
stand-in derived from its name with ``uuid5`` (``_stand_in_id``): it is
stable, but it is not the ID Windows uses for that SKU.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from makaudit.model import Application, Channel

WINDOWS_APPLICATION_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APPLICATION_ID = "0ff1ce15-a989-479d-af46-f275c6370663"
"""Office 2013 and later, which license through the Windows SoftwareLicensingProduct class."""

PRODUCT_KEY_ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
"""The 24 characters a Windows or Office product key is made of."""

DOMAIN = "corp.example.test"
APPROVED_KMS_HOST = "kms01.corp.example.test"
KMS_PORT = 1688
ROGUE_KMS_HOSTS = ("127.0.0.2", "kms.rogue.example")
"""Unapproved KMS hosts: a local emulator and an outside activator."""

AVMA_HYPERV_HOST = "hv01.corp.example.test"

RETAIL_GENERIC_PRO_KEY = "3V66T"
"""Last five of the generic Windows Pro key that digital-license installs carry (seen in captures)."""

_STAND_IN_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-4e59-9a0c-8d2e5f4b1c73")


def _stand_in_id(sku_name: str, channel_token: str) -> str:
    return str(uuid.uuid5(_STAND_IN_NAMESPACE, f"{sku_name}|{channel_token}"))


@dataclass(frozen=True)
class Sku:
    """One licensable SKU as SoftwareLicensingProduct describes it."""

    name: str
    description: str
    activation_id: str
    application: Application
    license_family: str
    product_key_channel: str
    channel: Channel

    @property
    def application_id(self) -> str:
        return WINDOWS_APPLICATION_ID if self.application is Application.WINDOWS else OFFICE_APPLICATION_ID


@dataclass(frozen=True)
class MakGroup:
    """Products one MAK activates: the key's ``product`` in the inventory."""

    code: str
    """Prefix of the inventory key IDs, such as ``WIN-ENT``."""
    product: str
    entitlement_per_key: int
    """Licenses owned per key, the inventory's ``entitlement``."""


@dataclass(frozen=True)
class Edition:
    """A product edition with its SKU per channel and the keys that select them."""

    family: str
    """LicenseFamily, and the middle of the SKU name (``Enterprise``, ``Office21ProPlus2021``)."""
    application: Application
    skus: dict[Channel, Sku]
    gvlk: str | None
    avma_key: str | None
    mak_group: MakGroup | None


@dataclass(frozen=True)
class OsProfile:
    """One operating system image of the fleet."""

    caption: str
    version: str
    service_version: str
    edition: Edition
    is_server: bool
    weight: int
    channels: tuple[tuple[Channel, int], ...]
    """Channels this image is installed with, each with its weight."""


@dataclass(frozen=True)
class OfficeProfile:
    """An Office volume product installed beside Windows on some hosts."""

    edition: Edition
    weight: int
    channels: tuple[tuple[Channel, int], ...]


def _windows_description(token: str) -> str:
    return f"Windows(R) Operating System, {token} channel"


_WINDOWS_CHANNEL_FORMS: dict[Channel, tuple[str, str]] = {
    Channel.MAK: ("VOLUME_MAK", "Volume:MAK"),
    Channel.KMS_CLIENT: ("VOLUME_KMSCLIENT", "Volume:GVLK"),
    Channel.RETAIL: ("RETAIL", "Retail"),
    Channel.OEM: ("OEM_DM", "OEM:DM"),
    Channel.AVMA: ("VIRTUAL_MACHINE_ACTIVATION", "VT:IA"),
    Channel.EVAL: ("TIMEBASED_EVAL", "Retail:TB:Eval"),
}
"""Description token and ProductKeyChannel of each Windows channel."""

# Activation IDs seen in captures: (LicenseFamily, Description token) -> ID.
_CAPTURED_WINDOWS_IDS = {
    ("Professional", "VOLUME_KMSCLIENT"): "2de67392-b7a7-462a-b1ca-108dd189f588",
    ("Professional", "RETAIL"): "4de7cb65-cdf1-4de9-8ae8-e3cce27b9f2c",
    ("Professional", "OEM_DM"): "bd3762d7-270d-4760-8fb3-d829ca45278a",
}


def _windows_edition(
    family: str,
    channels: tuple[Channel, ...],
    gvlk: str | None,
    mak_group: MakGroup | None,
    avma_key: str | None = None,
) -> Edition:
    name = f"Windows(R), {family} edition"
    skus: dict[Channel, Sku] = {}
    for channel in channels:
        token, key_channel = _WINDOWS_CHANNEL_FORMS[channel]
        activation_id = _CAPTURED_WINDOWS_IDS.get((family, token)) or _stand_in_id(name, token)
        skus[channel] = Sku(
            name=name,
            description=_windows_description(token),
            activation_id=activation_id,
            application=Application.WINDOWS,
            license_family=family,
            product_key_channel=key_channel,
            channel=channel,
        )
    return Edition(family, Application.WINDOWS, skus, gvlk, avma_key, mak_group)


# Office 2013 and later MAK licenses describe themselves as RETAIL(MAK) and their
# SKU names end in VL_MAK (VL_MAK_AE from 2019 on); KMS clients use VL_KMS_Client.
_CAPTURED_OFFICE_IDS = {
    "Office19ProPlus2019VL_KMS_Client_AE": "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03",
    "Office24Standard2024VL_MAK_AE1": "44a07f51-8263-4b2f-b2a5-70340055c646",
    "Office24ProPlus2024VL_KMS_Client_AE": "8d368fc1-9470-4be2-8d66-90e836cbb051",
}


def _office_edition(
    major: int,
    family: str,
    mak_suffix: str,
    kms_suffix: str,
    gvlk: str,
    mak_group: MakGroup,
) -> Edition:
    skus: dict[Channel, Sku] = {}
    forms = {
        Channel.MAK: (f"{family}{mak_suffix}", "RETAIL(MAK)", "Volume:MAK"),
        Channel.KMS_CLIENT: (f"{family}{kms_suffix}", "VOLUME_KMSCLIENT", "Volume:GVLK"),
    }
    for channel, (sku_family, token, key_channel) in forms.items():
        name = f"Office {major}, {sku_family} edition"
        skus[channel] = Sku(
            name=name,
            description=f"Office {major}, {token} channel",
            activation_id=_CAPTURED_OFFICE_IDS.get(sku_family) or _stand_in_id(name, token),
            application=Application.OFFICE,
            license_family=sku_family,
            product_key_channel=key_channel,
            channel=channel,
        )
    return Edition(family, Application.OFFICE, skus, gvlk, None, mak_group)


_CLIENT_CHANNELS = (Channel.MAK, Channel.KMS_CLIENT)
_PRO_CHANNELS = (Channel.MAK, Channel.KMS_CLIENT, Channel.RETAIL, Channel.OEM)
_SERVER_CHANNELS = (Channel.MAK, Channel.KMS_CLIENT, Channel.AVMA)

ENTERPRISE = _windows_edition("Enterprise", _CLIENT_CHANNELS, "2YT43", MakGroup("WIN-ENT", "Windows 10/11 Enterprise", 400))
PROFESSIONAL = _windows_edition("Professional", _PRO_CHANNELS, "T83GX", MakGroup("WIN-PRO", "Windows 10/11 Pro", 250))
EDUCATION = _windows_edition("Education", _CLIENT_CHANNELS, "VCFB2", MakGroup("WIN-EDU", "Windows 10/11 Education", 200))


def _server_edition(year: int, kind: str, gvlk: str, avma_key: str | None) -> Edition:
    label, code = ("Standard", "STD") if kind == "ServerStandard" else ("Datacenter", "DC")
    group = MakGroup(f"SRV{year % 100:02d}-{code}", f"Windows Server {year} {label}", 40)
    channels = _SERVER_CHANNELS if avma_key else (Channel.MAK, Channel.KMS_CLIENT)
    edition = _windows_edition(kind, channels, gvlk, group, avma_key)
    # Each server version has SKUs of its own; keep the stand-in IDs apart per version.
    skus = {
        channel: Sku(
            name=sku.name,
            description=sku.description,
            activation_id=_stand_in_id(f"{sku.name} {year}", sku.description),
            application=sku.application,
            license_family=sku.license_family,
            product_key_channel=sku.product_key_channel,
            channel=sku.channel,
        )
        for channel, sku in edition.skus.items()
    }
    return Edition(kind, Application.WINDOWS, skus, gvlk, avma_key, group)


SERVER_2016_STANDARD = _server_edition(2016, "ServerStandard", "KHKQY", "4RHYD")
SERVER_2016_DATACENTER = _server_edition(2016, "ServerDatacenter", "8XDDG", "CWG3J")
SERVER_2019_STANDARD = _server_edition(2019, "ServerStandard", "J464C", "4GF74")
SERVER_2019_DATACENTER = _server_edition(2019, "ServerDatacenter", "63DFG", "WMBMW")
SERVER_2022_STANDARD = _server_edition(2022, "ServerStandard", "VMK7H", "78VHK")
SERVER_2022_DATACENTER = _server_edition(2022, "ServerDatacenter", "6VM33", "DV9BG")
# Microsoft has not published AVMA keys for Server 2025 in the revision the reference used.
SERVER_2025_STANDARD = _server_edition(2025, "ServerStandard", "MY832", None)
SERVER_2025_DATACENTER = _server_edition(2025, "ServerDatacenter", "YP6DF", None)

SERVER_EVALUATION = _windows_edition("ServerStandardEval", (Channel.EVAL,), None, None)

OFFICE_2016_PROPLUS = _office_edition(
    16, "Office16ProPlus", "VL_MAK", "VL_KMS_Client", "WFG99", MakGroup("O16-PP", "Office Professional Plus 2016", 150)
)
OFFICE_2016_STANDARD = _office_edition(
    16, "Office16Standard", "VL_MAK", "VL_KMS_Client", "DRTFM", MakGroup("O16-STD", "Office Standard 2016", 80)
)
OFFICE_2019_PROPLUS = _office_edition(
    19, "Office19ProPlus2019", "VL_MAK_AE", "VL_KMS_Client_AE", "6MWKP", MakGroup("O19-PP", "Office Professional Plus 2019", 150)
)
OFFICE_2021_PROPLUS = _office_edition(
    21, "Office21ProPlus2021", "VL_MAK_AE", "VL_KMS_Client_AE", "6F7TH", MakGroup("O21-PP", "Office LTSC Professional Plus 2021", 200)
)
OFFICE_2021_STANDARD = _office_edition(
    21, "Office21Standard2021", "VL_MAK_AE", "VL_KMS_Client_AE", "78VT3", MakGroup("O21-STD", "Office LTSC Standard 2021", 80)
)

_WORKSTATION_CHANNELS = ((Channel.MAK, 50), (Channel.KMS_CLIENT, 50))
_PRO_CHANNEL_WEIGHTS = ((Channel.MAK, 30), (Channel.KMS_CLIENT, 30), (Channel.OEM, 25), (Channel.RETAIL, 15))
_SERVER_CHANNEL_WEIGHTS = ((Channel.KMS_CLIENT, 45), (Channel.MAK, 40), (Channel.AVMA, 15))
_SERVER_2025_CHANNEL_WEIGHTS = ((Channel.KMS_CLIENT, 55), (Channel.MAK, 45))

OS_PROFILES: tuple[OsProfile, ...] = (
    OsProfile("Microsoft Windows 11 Enterprise", "10.0.26100", "10.0.26100.4202", ENTERPRISE, False, 18, _WORKSTATION_CHANNELS),
    OsProfile("Microsoft Windows 11 Enterprise", "10.0.22631", "10.0.22621.4541", ENTERPRISE, False, 12, _WORKSTATION_CHANNELS),
    OsProfile("Microsoft Windows 10 Enterprise", "10.0.19045", "10.0.19041.5198", ENTERPRISE, False, 12, _WORKSTATION_CHANNELS),
    OsProfile("Microsoft Windows 11 Pro", "10.0.26100", "10.0.26100.4202", PROFESSIONAL, False, 10, _PRO_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows 10 Pro", "10.0.19045", "10.0.19041.5198", PROFESSIONAL, False, 6, _PRO_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows 11 Education", "10.0.22631", "10.0.22621.4541", EDUCATION, False, 6, _WORKSTATION_CHANNELS),
    OsProfile("Microsoft Windows 10 Education", "10.0.19045", "10.0.19041.5198", EDUCATION, False, 3, _WORKSTATION_CHANNELS),
    OsProfile("Microsoft Windows Server 2016 Standard", "10.0.14393", "10.0.14393.7515", SERVER_2016_STANDARD, True, 3, _SERVER_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2016 Datacenter", "10.0.14393", "10.0.14393.7515", SERVER_2016_DATACENTER, True, 1, _SERVER_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2019 Standard", "10.0.17763", "10.0.17763.6532", SERVER_2019_STANDARD, True, 5, _SERVER_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2019 Datacenter", "10.0.17763", "10.0.17763.6532", SERVER_2019_DATACENTER, True, 2, _SERVER_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2022 Standard", "10.0.20348", "10.0.20348.2849", SERVER_2022_STANDARD, True, 6, _SERVER_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2022 Datacenter", "10.0.20348", "10.0.20348.2849", SERVER_2022_DATACENTER, True, 3, _SERVER_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2025 Standard", "10.0.26100", "10.0.26100.2314", SERVER_2025_STANDARD, True, 3, _SERVER_2025_CHANNEL_WEIGHTS),
    OsProfile("Microsoft Windows Server 2025 Datacenter", "10.0.26100", "10.0.26100.2314", SERVER_2025_DATACENTER, True, 1, _SERVER_2025_CHANNEL_WEIGHTS),
    OsProfile(
        "Microsoft Windows Server 2022 Standard Evaluation", "10.0.20348", "10.0.20348.2849", SERVER_EVALUATION, True, 1, ((Channel.EVAL, 1),)
    ),
)

OFFICE_SHARE = 0.4
"""Share of workstations with an Office volume product installed."""

_OFFICE_CHANNELS = ((Channel.MAK, 50), (Channel.KMS_CLIENT, 50))

OFFICE_PROFILES: tuple[OfficeProfile, ...] = (
    OfficeProfile(OFFICE_2016_PROPLUS, 3, _OFFICE_CHANNELS),
    OfficeProfile(OFFICE_2016_STANDARD, 1, _OFFICE_CHANNELS),
    OfficeProfile(OFFICE_2019_PROPLUS, 3, _OFFICE_CHANNELS),
    OfficeProfile(OFFICE_2021_PROPLUS, 5, _OFFICE_CHANNELS),
    OfficeProfile(OFFICE_2021_STANDARD, 2, _OFFICE_CHANNELS),
)

ESU_ADD_ONS: tuple[Sku, ...] = tuple(
    Sku(
        name=f"Windows(R), Client-ESU-Year{year} add-on for Education,EducationN,Enterprise,EnterpriseN,Professional,ProfessionalN",
        description=_windows_description("VOLUME_MAK"),
        activation_id=activation_id,
        application=Application.WINDOWS,
        license_family=f"Client-ESU-Year{year}",
        product_key_channel="Volume:MAK",
        channel=Channel.MAK,
    )
    for year, activation_id in (
        (1, "f520e45e-7413-4a34-a497-d2765967d094"),
        (2, "1043add5-23b1-4afb-9a0f-64343c8f3f8d"),
        (3, "83d49986-add3-41d7-ba33-87c7bfb5c0fb"),
    )
)
"""Windows 10 Extended Security Updates add-ons; the fleet lists them without a key."""

# Last five of every published GVLK and AVMA key (Windows client and server,
# Office 2010 to LTSC 2024). MAK partial keys are drawn so that none equals one.
PUBLISHED_KEY_LAST_FIVES: frozenset[str] = frozenset(
    """
    MY832 YP6DF 8MCRC VMK7H 6VM33 KHMXV J464C 63DFG YY726 KHKQY 8XDDG 4M63B 724CC CWH2D T83GX GCQG9
    6Q84J 6XYWF J447Y 66QFC VCFB2 MDWWJ 2YT43 KHJW4 4M68B T84FV J462D 7CG2H PDQGT QJ4BJ 8B639 76DF9
    D69TJ 9W4KR 7FVDG GF6G4 BWTG6 MDVJX Q3VJ9 M4FWM 27GG4 GVGGY 84YXQ DYFKP 92BT4 CYQJJ QGJ2G 8W83P
    J2MPV 6RTM4 9QCTX R7VHC CPX3Y 7M648 CB83V M249D BFGM2 6FFFJ X4Q6V G3FPG 6X7HP TCBY3 G3QQC PDRHK
    9D6T9 B4FXY MKKG7 JFFXW J8CK4 2RYQQ CWCK7 X2BQT GPDD4 QY7MG GF7QX HVTHH XCKRJ H9DH4 2V3X8 VMQBT
    4BWMV XJXKV GCVGB H6HGR 76HF4 G87F8 YY89G WQQTV JMCWD CKGJG RJWB9 FYCWP F64P3 VFW9J 6F7TH 78VT3
    QV9H8 T3D4T K2HT4 4M8QG FC4T4 G6RVC T86R9 GX27K KFBGQ XK29P X79KV 6MWKP 9D9HK PKD2B JXD2M 7VCBB
    X4VQ2 YTFQT RVXBD XW4VK TJHMQ C9Y9V HMKHJ WXD33 WFG99 DRTFM G83KT KQBVC RJRJK W8GF4 QPFDW 7FTBF
    XW3J6 6MT9B BY6C6 8K837 DDBV6 3PFJ6 XQBR2 GVGXT 92CD4 2342K 8QHTT RM3B3 PGWR7 4JM2D BG7GB F8894
    TCK7R P34VW 2PMBT 4RD4F FCXK4 4GBJ7 H3GVB 8R6BM T7DDX CW9BM 4T3J4 BT37T D3XHX X3DWQ P4VTT VHKC6
    F9PGB 83YTP CRY7T WX8BJ Q8TCP KHFGJ DV9BG VMK3J 78VHK WMBMW 4GF74 HFV28 CWG3J 4RHYD MHBKQ DV4TW
    MTB6V P36R2 3V66T
    """.split()
)


@dataclass(frozen=True)
class Culture:
    """A UI culture of the fleet and the slmgr language it prints in."""

    name: str
    """``(Get-UICulture).Name``, such as ``de-DE``."""
    language_code: str
    """Code of the slmgr label table (``makaudit.parsing.slmgr_labels``)."""
    weight: int
    date_format: str
    """``str.format`` template of slmgr's ``Trusted time`` line in this culture, with the fields
    year, month, day, hour, hour12, minute, second and ampm."""
    lcid: int
    """Windows locale ID, the language field of an extended PID."""


CULTURES: tuple[Culture, ...] = (
    Culture("en-US", "en", 50, "{month}/{day}/{year} {hour12}:{minute:02d}:{second:02d} {ampm}", 1033),
    Culture("en-GB", "en", 6, "{day:02d}/{month:02d}/{year} {hour:02d}:{minute:02d}:{second:02d}", 2057),
    Culture("de-DE", "de", 9, "{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}:{second:02d}", 1031),
    Culture("zh-CN", "zh-CN", 8, "{year}/{month}/{day} {hour:02d}:{minute:02d}:{second:02d}", 2052),
    Culture("es-ES", "es", 6, "{day:02d}/{month:02d}/{year} {hour:02d}:{minute:02d}:{second:02d}", 3082),
    Culture("ja-JP", "ja", 5, "{year}/{month:02d}/{day:02d} {hour:02d}:{minute:02d}:{second:02d}", 1041),
    Culture("ru-RU", "ru", 4, "{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}:{second:02d}", 1049),
    Culture("ko-KR", "ko", 3, "{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}", 1042),
    Culture("pt-BR", "pt-BR", 3, "{day:02d}/{month:02d}/{year} {hour:02d}:{minute:02d}:{second:02d}", 1046),
    Culture("tr-TR", "tr", 2, "{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}:{second:02d}", 1055),
    Culture("it-IT", "it", 2, "{day:02d}/{month:02d}/{year} {hour:02d}:{minute:02d}:{second:02d}", 1040),
    Culture("sk-SK", "sk", 2, "{day}. {month}. {year} {hour}:{minute:02d}:{second:02d}", 1051),
)
