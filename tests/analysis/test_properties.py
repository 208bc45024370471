"""Property tests over generated fleets: counts add up, and no host is counted twice for one key."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makaudit.analysis import analyse
from makaudit.model import Channel, LicenseStatus

from analysis.builders import DEFAULT_CONFIG, NOW, host, inventory, key, record

PARTIAL_KEYS = ["7QJ2K", "7qj2k", "BBBBB", "CCCCC", "DDDDD", "2YT43"]
STATUSES = [None, *LicenseStatus]
CHANNELS = [Channel.MAK, Channel.MAK, Channel.KMS_CLIENT, Channel.RETAIL, Channel.OEM, Channel.AVMA, Channel.EVAL]

records = st.builds(
    record,
    st.sampled_from(CHANNELS),
    st.sampled_from(PARTIAL_KEYS),
    st.sampled_from(STATUSES),
)
host_results = st.builds(
    lambda number, items, hours_ago, uuid, target: host(
        number, *items, collected_at=NOW - timedelta(hours=hours_ago), uuid=uuid, target=target
    ),
    st.integers(min_value=1, max_value=8),  # few numbers, so that one host appears in several results
    st.lists(records, max_size=4),
    st.integers(min_value=0, max_value=3),
    st.booleans(),
    st.sampled_from(["t1", "t2", "t3"]),
)
fleets = st.lists(host_results, max_size=14)
inventories = st.lists(st.sampled_from(["7QJ2K", "BBBBB", "CCCCC"]), unique=True).map(
    lambda partials: inventory(*(key(partial) for partial in partials))
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def latest_by_host(results):
    """The latest result of each host, written independently of the pandas implementation."""
    latest = {}
    for result in results:
        current = latest.get(result.host_key)
        if current is None or result.state.collected_at >= current.state.collected_at:
            latest[result.host_key] = result
    return latest


def mak_pairs(results):
    """(host, partial key) -> whether any MAK record of that pair is Licensed."""
    pairs: dict[tuple[str, str], bool] = {}
    for host_key, result in latest_by_host(results).items():
        for item in result.state.records:
            if item.channel is Channel.MAK and item.partial_product_key:
                pair = (host_key, item.partial_product_key.upper())
                pairs[pair] = pairs.get(pair, False) or item.license_status is LicenseStatus.LICENSED
    return pairs


@SETTINGS
@given(fleets, inventories)
def test_activated_sum_equals_licensed_pairs(fleet, stock):
    result = analyse(fleet, stock, DEFAULT_CONFIG, NOW)

    pairs = mak_pairs(fleet)
    assert sum(usage.activated for usage in result.keys) == sum(pairs.values())
    assert sum(usage.installed_not_activated for usage in result.keys) == sum(not licensed for licensed in pairs.values())


@SETTINGS
@given(fleets, inventories)
def test_no_host_counted_twice_for_a_key(fleet, stock):
    result = analyse(fleet, stock, DEFAULT_CONFIG, NOW)

    pairs = mak_pairs(fleet)
    hosts = len(latest_by_host(fleet))
    assert len(result.hosts) == hosts
    for usage in result.keys:
        expected = [licensed for (_host, partial), licensed in pairs.items() if partial == usage.partial_product_key]
        assert usage.activated == sum(expected)
        assert usage.installed_not_activated == len(expected) - sum(expected)
        assert usage.activated + usage.installed_not_activated <= hosts


@SETTINGS
@given(fleets, inventories, st.lists(st.lists(records, max_size=3), max_size=5))
def test_hosts_without_mak_do_not_change_keys(fleet, stock, extra_records):
    extra = [
        host(100 + number, *(item for item in items if item.channel is not Channel.MAK))
        for number, items in enumerate(extra_records)
    ]

    before = analyse(fleet, stock, DEFAULT_CONFIG, NOW)
    after = analyse(fleet + extra, stock, DEFAULT_CONFIG, NOW)

    assert after.keys == before.keys


@SETTINGS
@given(fleets, inventories)
def test_every_inventory_key_is_listed_once(fleet, stock):
    result = analyse(fleet, stock, DEFAULT_CONFIG, NOW)

    listed = [usage.partial_product_key for usage in result.keys]
    assert len(listed) == len(set(listed))
    assert [usage.key_id for usage in result.keys[: len(stock.keys)]] == [item.key_id for item in stock.keys]
    assert all(usage.key_id is None for usage in result.keys[len(stock.keys) :])
