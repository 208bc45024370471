"""Tests of the fleet's slmgr /dlv all text: layout, languages, and what the slmgr parser reads from it."""

from __future__ import annotations

import dataclasses
import math
import random
import re
from datetime import datetime, timezone

import pytest

from makaudit.model import Channel, LicenseStatus
from makaudit.parsing.slmgr import parse_slmgr_text
from makaudit.parsing.slmgr_labels import LANGUAGES, language
from makaudit.testing.builder_catalog import CULTURES, PUBLISHED_KEY_LAST_FIVES
from makaudit.testing.builder_hosts import HostPlan, HostPlanner
from makaudit.testing.builder_keys import create_key_pool
from makaudit.testing.builder_slmgr import format_local_time, render_dlv_all, rendered_languages

NOW = datetime(2026, 12, 4, 19, 40, 0, tzinfo=timezone.utc)
PLANS = 80


@pytest.fixture(scope="module")
def plans() -> list[HostPlan]:
    rng = random.Random(21)
    pool = create_key_pool(rng, PUBLISHED_KEY_LAST_FIVES)
    reserved = set(PUBLISHED_KEY_LAST_FIVES) | {key.partial_product_key for key in pool.keys}
    planner = HostPlanner(rng, pool, NOW, reserved)
    return [planner.plan(index) for index in range(1, PLANS + 1)]


def _in_every_culture(plans: list[HostPlan]):
    for plan in plans:
        for culture in CULTURES:
            yield dataclasses.replace(plan, culture=culture)


def test_cultures_cover_every_language() -> None:
    assert {culture.language_code for culture in CULTURES} == set(rendered_languages())
    assert set(rendered_languages()) == {entry.code for entry in LANGUAGES}


def test_parser_reads_keys_and_states(plans: list[HostPlan]) -> None:
    for plan in _in_every_culture(plans):
        state = parse_slmgr_text(render_dlv_all(plan), f"{plan.name} {plan.culture.name}")

        expected = [(p.partial_product_key, p.status, p.sku.channel) for p in plan.products]
        parsed = [(r.partial_product_key, r.license_status, r.channel) for r in state.records]
        assert parsed == expected, plan.culture.name


def test_parser_reads_grace_minutes(plans: list[HostPlan]) -> None:
    for plan in _in_every_culture(plans):
        state = parse_slmgr_text(render_dlv_all(plan), plan.name)
        for product, record in zip(plan.products, state.records):
            if product.grace_minutes and product.status is not LicenseStatus.NOTIFICATION:
                assert record.grace_minutes == product.grace_minutes, (plan.culture.name, product.sku.name)


def test_parser_reads_kms_host_of_licensed_clients(plans: list[HostPlan]) -> None:
    checked = 0
    for plan in plans:
        state = parse_slmgr_text(render_dlv_all(plan), plan.name)
        for product, record in zip(plan.products, state.records):
            if product.sku.channel is Channel.KMS_CLIENT and product.status is LicenseStatus.LICENSED:
                assert record.kms_machine == plan.kms_machine_of(product)
                checked += 1
    assert checked


def test_keyless_skus_are_not_in_use(plans: list[HostPlan]) -> None:
    plan = next(plan for plan in plans if plan.unused_skus)
    text = render_dlv_all(plan)

    assert text.count("This license is not in use.") == len(plan.unused_skus)
    for sku in plan.unused_skus:
        assert f"Activation ID: {sku.activation_id}\r\n" in text


def test_localized_labels(plans: list[HostPlan]) -> None:
    plan = plans[0]
    chinese = render_dlv_all(dataclasses.replace(plan, culture=next(c for c in CULTURES if c.name == "zh-CN")))
    german = render_dlv_all(dataclasses.replace(plan, culture=next(c for c in CULTURES if c.name == "de-DE")))

    assert "许可证状态: " in chinese
    assert "部分产品密钥: " in chinese
    assert "Lizenzstatus: " in german
    # German has no label for the partial key, so slmgr prints the English one.
    assert "Partial Product Key: " in german


def test_status_words_follow_language(plans: list[HostPlan]) -> None:
    plan = next(plan for plan in plans if plan.products[0].status is LicenseStatus.LICENSED)
    spanish = dataclasses.replace(plan, culture=next(c for c in CULTURES if c.name == "es-ES"))
    licensed = language("es").canonical_status(LicenseStatus.LICENSED)
    label = language("es").canonical_label("license_status")

    assert f"{label}: {licensed}\r\n" in render_dlv_all(spanish)


def test_crlf_line_ends_and_header(plans: list[HostPlan]) -> None:
    for plan in plans[:10]:
        text = render_dlv_all(plan)
        assert "\n" not in text.replace("\r\n", "")
        assert text.endswith("\r\n")
        if plan.culture.language_code == "en":
            assert text.startswith(f"Software licensing service version: {plan.os.service_version}\r\n\r\n")


def test_expiration_days_round_up(plans: list[HostPlan]) -> None:
    pattern = re.compile(r"^(?:Volume activation expiration|Time remaining|Timebased activation expiration): (\d+) minute\(s\) \((\d+) day\(s\)\)$", re.M)
    english = next(c for c in CULTURES if c.name == "en-US")
    found = 0
    for plan in plans:
        text = render_dlv_all(dataclasses.replace(plan, culture=english)).replace("\r\n", "\n")
        for minutes, days in pattern.findall(text):
            assert int(days) == math.ceil(int(minutes) / 1440)
            found += 1
    assert found


def test_notification_reason_is_hex(plans: list[HostPlan]) -> None:
    english = next(c for c in CULTURES if c.name == "en-US")
    for plan in plans:
        text = render_dlv_all(dataclasses.replace(plan, culture=english))
        for product in plan.products:
            if product.status is LicenseStatus.NOTIFICATION:
                assert f"Notification Reason: 0x{product.reason:08X}" in text


def test_trusted_time_formats() -> None:
    moment = datetime(2026, 8, 11, 13, 51, 1, tzinfo=timezone.utc)
    formats = {culture.name: format_local_time(moment, culture) for culture in CULTURES}

    assert formats["en-US"] == "8/11/2026 1:51:01 PM"
    assert formats["en-GB"] == "11/08/2026 13:51:01"
    assert formats["de-DE"] == "11.08.2026 13:51:01"
    assert formats["zh-CN"] == "2026/8/11 13:51:01"
