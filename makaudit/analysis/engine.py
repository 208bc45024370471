"""The analysis entry point: latest state per host, MAK usage, license positions and sorted findings."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Iterable, Sequence

from makaudit.analysis.frames import build_latest_frames, to_utc
from makaudit.analysis.host_findings import host_findings
from makaudit.analysis.key_findings import key_findings, position_findings
from makaudit.analysis.keys import key_usage, product_positions
from makaudit.config import AuditConfig, Suppression
from makaudit.inventory import Inventory
from makaudit.model import AnalysisResult, Finding, HostResult, KeyTrendPoint, Severity
from makaudit.gcpause import cyclic_gc_paused

logger = logging.getLogger(__name__)


def analyse(
    hosts: Sequence[HostResult],
    inventory: Inventory | None,
    config: AuditConfig,
    now: datetime,
    trends: Sequence[KeyTrendPoint] = (),
) -> AnalysisResult:
    """Analyse the latest result of each host against the inventory and the configuration.

    ``now`` is the moment stale hosts, grace periods and rotation dates are judged
    against; a naive value is taken as UTC. Without an inventory every MAK seen is
    listed with key_id None, and no inventory finding (unknown key, overuse...) is raised.
    """
    with cyclic_gc_paused():
        return _analyse(hosts, inventory, config, to_utc(now), trends)


def _analyse(
    hosts: Sequence[HostResult],
    inventory: Inventory | None,
    config: AuditConfig,
    now: datetime,
    trends: Sequence[KeyTrendPoint],
) -> AnalysisResult:
    frames = build_latest_frames(hosts)
    latest = frames.results
    if len(latest) < len(hosts):
        logger.info("kept the latest result of %d host(s) out of %d result(s)", len(latest), len(hosts))

    table = key_usage(frames, inventory)
    positions = product_positions(table, inventory)

    findings = [
        *key_findings(table, frames, inventory, config, now.date()),
        *position_findings(positions),
        *host_findings(frames, inventory, config, now),
    ]
    findings = sort_findings(apply_suppressions(findings, config.suppressions))
    logger.info(
        "analysed %d host(s), %d keyed record(s), %d key(s): %d finding(s)",
        len(latest),
        len(frames.records),
        len(table.usages),
        len(findings),
    )

    return AnalysisResult(
        generated_at=now,
        hosts=latest,
        keys=table.usages,
        findings=tuple(findings),
        positions=positions,
        trends=tuple(trends),
        near_limit_threshold=config.near_limit_threshold,
    )


_DESCENDING_RANK = {severity: -severity.rank for severity in Severity}


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Sort by severity (critical first), then code, host, key id, partial product key and message."""
    return sorted(
        findings,
        key=lambda finding: (
            _DESCENDING_RANK[finding.severity],
            finding.code,
            (finding.host or "").lower(),
            finding.key_id or "",
            finding.partial_product_key or "",
            finding.message,
        ),
    )


def apply_suppressions(findings: list[Finding], suppressions: Sequence[Suppression]) -> list[Finding]:
    """Mark the findings that a suppression matches; they stay in the list."""
    if not suppressions:
        return findings

    marked = []
    for finding in findings:
        match = next((rule for rule in suppressions if _matches(rule, finding)), None)
        if match is None:
            marked.append(finding)
        else:
            marked.append(dataclasses.replace(finding, suppressed=True, suppression_reason=match.reason))
    return marked


def _matches(rule: Suppression, finding: Finding) -> bool:
    """Match code exactly, host against the finding's host, and key against its key id or partial product key.

    A host rule also matches a key finding that lists the host, but only when the
    finding concerns that host alone, so that one accepted host cannot hide others.
    """
    if rule.code != finding.code:
        return False

    if rule.host is not None:
        host = rule.host.casefold()
        hosts = [name.casefold() for name in finding.hosts]
        on_host = (finding.host or "").casefold() == host or hosts == [host]
        if not on_host:
            return False

    if rule.key is not None:
        key = rule.key.casefold()
        if key not in ((finding.key_id or "").casefold(), (finding.partial_product_key or "").casefold()):
            return False
    return True
