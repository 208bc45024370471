"""Classify an installed product key: its activation channel and its application.

The channel comes from ProductKeyChannel (``Volume:MAK``) when that value is
specific, else from the token before `` channel`` at the end of the Description
(``Windows(R) Operating System, VOLUME_MAK channel``), else from the license
name (``Office19ProPlus2019VL_KMS_Client_AE``). A published GVLK or AVMA key,
recognised by its last five characters, decides the channel whatever the text
says: a GVLK is a KMS client key even on a host whose description was edited,
copied wrongly or comes from an inventory tool that guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from makaudit.analysis.data.public_keys import AVMA_KEYS, KMS_CLIENT_KEYS
from makaudit.model import Application, Channel

WINDOWS_APPLICATION_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APPLICATION_ID = "0ff1ce15-a989-479d-af46-f275c6370663"
OFFICE_2010_APPLICATION_ID = "59a52881-a989-479d-af46-f275c6370663"

# Office 2013 and later use 0ff1ce15; Microsoft's own Office 2016 KMS host
# example prints 0ff1ce16, so both prefixes count as Office.
_OFFICE_ID_PREFIXES = ("0ff1ce15-", "0ff1ce16-", "59a52881-")
_WINDOWS_ID_PREFIX = "55c92734-"


@dataclass(frozen=True)
class PublicKey:
    """A published GVLK or AVMA key, known by its last five characters."""

    last_five: str
    product: str
    application: Application
    channel: Channel


def _index_keys() -> dict[str, PublicKey]:
    index: dict[str, PublicKey] = {}
    for last_five, product, application in KMS_CLIENT_KEYS:
        index[last_five] = PublicKey(last_five, product, application, Channel.KMS_CLIENT)
    for last_five, product, application in AVMA_KEYS:
        index[last_five] = PublicKey(last_five, product, application, Channel.AVMA)
    return index


_PUBLIC_KEYS = _index_keys()

# ProductKeyChannel values, compared in upper case. "Volume" alone, which a
# collector that splits slmgr text at every colon leaves, names no channel.
_KEY_CHANNELS: dict[str, Channel] = {
    "VOLUME:MAK": Channel.MAK,
    "VOLUME:GVLK": Channel.KMS_CLIENT,
    "VOLUME:CSVLK": Channel.KMS_HOST,
    "RETAIL": Channel.RETAIL,
    "RETAIL:TB:EVAL": Channel.EVAL,
    "RETAIL:TB:TRIAL": Channel.EVAL,
    "RETAIL:TB:SUB": Channel.SUBSCRIPTION,
    "VT:IA": Channel.AVMA,
}

# Description tokens, compared in upper case with "-" and spaces read as "_".
_DESCRIPTION_TOKENS: dict[str, Channel] = {
    "VOLUME_MAK": Channel.MAK,
    "RETAIL(MAK)": Channel.MAK,
    "VOLUME_KMSCLIENT": Channel.KMS_CLIENT,
    "RETAIL": Channel.RETAIL,
    "RETAIL(GRACE)": Channel.RETAIL,
    "TIMEBASED_EVAL": Channel.EVAL,
    "TIMEBASED_SUB": Channel.SUBSCRIPTION,
    "VIRTUAL_MACHINE_ACTIVATION": Channel.AVMA,
}

_DESCRIPTION_CHANNEL = re.compile(r"(?:^|[,\s])(?P<token>[A-Za-z0-9_()\-]+(?:_ [A-Za-z0-9_()]+)?)\s+channel\s*$", re.I)


def public_key(partial_product_key: str | None) -> PublicKey | None:
    """Return the published GVLK or AVMA key ending in ``partial_product_key``, or None."""
    if not partial_product_key:
        return None
    return _PUBLIC_KEYS.get(partial_product_key.strip().upper())


def description_token(description: str | None) -> str | None:
    """Return the channel token of a Description (``VOLUME_MAK``), normalised to upper case, or None."""
    if not description:
        return None
    match = _DESCRIPTION_CHANNEL.search(description.strip())
    if match is None:
        return None
    token = match.group("token").upper().replace("_ ", "_").replace("-", "_")
    return token


def channel_from_product_key_channel(value: str | None) -> Channel | None:
    """Return the channel a ProductKeyChannel value names, or None when it is missing or too vague."""
    if not value:
        return None
    text = value.strip().upper()
    if text in _KEY_CHANNELS:
        return _KEY_CHANNELS[text]
    if text.startswith("OEM"):
        return Channel.OEM
    if text.startswith("RETAIL:TB"):
        return Channel.EVAL
    return None


def channel_from_token(token: str | None) -> Channel | None:
    """Return the channel of a Description token such as ``VOLUME_KMS_C`` or ``OEM_DM``, or None."""
    if not token:
        return None
    text = token.strip().upper().replace("-", "_")
    if text in _DESCRIPTION_TOKENS:
        return _DESCRIPTION_TOKENS[text]
    if text.startswith("VOLUME_KMS"):
        # VOLUME_KMSCLIENT is matched above; VOLUME_KMS, VOLUME_KMS_C and
        # VOLUME_KMS_2012-R2_WIN10 are KMS host keys.
        return Channel.KMS_HOST
    if text.startswith("OEM"):
        return Channel.OEM
    if text.startswith("TIMEBASED"):
        return Channel.EVAL
    if text.startswith("RETAIL"):
        return Channel.RETAIL
    return None


def channel_from_name(name: str | None) -> Channel | None:
    """Guess the channel from a license name (``Office16StandardVL_MAK``), or None when it carries no hint."""
    if not name:
        return None
    text = name.upper().replace(" ", "")
    if "_KMS_CLIENT" in text or "KMSCLIENT" in text:
        return Channel.KMS_CLIENT
    if "_KMS_HOST" in text or "KMSHOST" in text:
        return Channel.KMS_HOST
    if "VL_MAK" in text or text.endswith("_MAKEDITION") or "_MAK_" in text:
        return Channel.MAK
    if "_SUBSCRIPTION" in text:
        return Channel.SUBSCRIPTION
    if "R_RETAIL" in text or "R_GRACE" in text or "R_OEM" in text:
        return Channel.RETAIL if "R_OEM" not in text else Channel.OEM
    if "EVAL" in text:
        return Channel.EVAL
    return None


def classify_channel(
    *,
    description: str | None,
    product_key_channel: str | None = None,
    partial_product_key: str | None = None,
    name: str | None = None,
    application: Application | None = None,
) -> Channel:
    """Return the activation channel of one installed key.

    A published GVLK or AVMA key decides first, when its application matches
    ``application`` (or the application is not known). Then the
    ProductKeyChannel, the Description token and the license name, in that
    order. UNKNOWN when none of them says anything.
    """
    known = public_key(partial_product_key)
    if known is not None and application in (None, Application.OTHER, known.application):
        return known.channel

    for channel in (
        channel_from_product_key_channel(product_key_channel),
        channel_from_token(description_token(description)),
        channel_from_name(name),
    ):
        if channel is not None:
            return channel
    return Channel.UNKNOWN


def classify_application(application_id: str | None, name: str | None = None, description: str | None = None) -> Application:
    """Return the product family from the ApplicationID, else from the name or description text."""
    if application_id:
        text = application_id.strip().lower()
        if text.startswith(_WINDOWS_ID_PREFIX):
            return Application.WINDOWS
        if text.startswith(_OFFICE_ID_PREFIXES):
            return Application.OFFICE

    for text in (name, description):
        if not text:
            continue
        lowered = text.lower()
        if lowered.startswith(("office", "microsoft office")) or " office " in f" {lowered} ":
            return Application.OFFICE
        if lowered.startswith("windows"):
            return Application.WINDOWS
    return Application.OTHER
