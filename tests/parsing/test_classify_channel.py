"""Channel and application classification from ProductKeyChannel, Description, name and public keys."""

from __future__ import annotations

import pytest

from makaudit.analysis.classify import classify_application, classify_channel, public_key
from makaudit.model import Application, Channel


@pytest.mark.parametrize(
    ("description", "key_channel", "expected"),
    [
        ("Windows(R) Operating System, VOLUME_MAK channel", None, Channel.MAK),
        ("Office 16, RETAIL(MAK) channel", None, Channel.MAK),
        ("Windows(R) Operating System, VOLUME_KMSCLIENT channel", None, Channel.KMS_CLIENT),
        ("Windows Operating System - Windows Server(R), VOLUME_KMS_C channel", None, Channel.KMS_HOST),
        ("Windows(R) Operating System, VOLUME_KMS_2012-R2_WIN10 channel", None, Channel.KMS_HOST),
        ("Office 19, RETAIL(Grace) channel", None, Channel.RETAIL),
        ("Windows(R) Operating System, OEM_COA_NSLP channel", None, Channel.OEM),
        ("Windows(R) Operating System, TIMEBASED_EVAL channel", None, Channel.EVAL),
        ("Office 16, TIMEBASED_ SUB channel", None, Channel.SUBSCRIPTION),
        ("Windows(R) Operating System, VIRTUAL_MACHINE_ACTIVATION channel", None, Channel.AVMA),
        ("", "Volume:MAK", Channel.MAK),
        ("", "OEM:NONSLP", Channel.OEM),
        ("Windows(R) Operating System, VOLUME_MAK channel", "Volume", Channel.MAK),
        ("", None, Channel.UNKNOWN),
    ],
)
def test_channel_table(description: str, key_channel: str | None, expected: Channel) -> None:
    assert classify_channel(description=description, product_key_channel=key_channel) is expected


def test_gvlk_overrides_text() -> None:
    channel = classify_channel(
        description="Windows(R) Operating System, RETAIL channel",
        partial_product_key="T83GX",
        application=Application.WINDOWS,
    )
    assert channel is Channel.KMS_CLIENT


def test_gvlk_of_other_application_ignored() -> None:
    channel = classify_channel(
        description="Office 16, RETAIL(MAK) channel", partial_product_key="T83GX", application=Application.OFFICE
    )
    assert channel is Channel.MAK


def test_avma_key_recognised() -> None:
    assert classify_channel(description="", partial_product_key="DV9BG") is Channel.AVMA
    assert public_key("dv9bg").product == "AVMA Server 2022 Datacenter"


@pytest.mark.parametrize(
    ("application_id", "name", "expected"),
    [
        ("55c92734-d682-4d71-983e-d6ec3f16059f", "", Application.WINDOWS),
        ("0ff1ce15-a989-479d-af46-f275c6370663", "", Application.OFFICE),
        ("0ff1ce16-a989-479d-af46-f275c6370663", "", Application.OFFICE),
        ("59a52881-a989-479d-af46-f275c6370663", "", Application.OFFICE),
        (None, "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", Application.OFFICE),
        (None, "Windows(R), Professional edition", Application.WINDOWS),
        (None, "Something else", Application.OTHER),
    ],
)
def test_application_table(application_id: str | None, name: str, expected: Application) -> None:
    assert classify_application(application_id, name) is expected
