"""Per-service findings: how far each signal moved after the change point, and what logs and traces say.

Findings are split by what they can prove. *Symptoms* (error ratio, latency, traffic) travel up the
call graph: a caller of a failing service shows them too. *Own* findings (saturation, restarts,
disappearance, self-time, error origins in traces, log lines of its own, blame in its callers' lines)
point at the service itself. The ranking weighs them differently for exactly that reason.
"""

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from aegis.rca_worker.evidence import (
    CPU,
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    MEMORY,
    REQUEST_RATE,
    RESTARTS,
    EvidenceBundle,
    LogTemplate,
    MetricSeries,
    TraceOrigin,
)
from aegis.rca_worker.ranking.robust import drop_score, median, shift_score, split_at

SYMPTOM_SIGNALS = (ERROR_RATIO, LATENCY_P95, LATENCY_P99, REQUEST_RATE)
FLOORS = {
    ERROR_RATIO: 0.01,
    LATENCY_P95: 0.005,
    LATENCY_P99: 0.005,
    REQUEST_RATE: 0.05,
    CPU: 0.02,
    MEMORY: 1e6,
}
ABSENT = "absent"
SELF_TIME = "self_time"


@dataclass(frozen=True)
class SignalFinding:
    """One signal that moved: its robust score, level before and after, and the query showing it."""

    signal: str
    score: float
    before: float
    after: float
    query: str


@dataclass(frozen=True)
class LogFinding:
    """A log template that burst after the change: extra lines per minute over its baseline."""

    burst: float
    template: LogTemplate


@dataclass
class ServiceFindings:
    """Everything found about one service."""

    service: str
    symptoms: dict[str, SignalFinding] = field(default_factory=dict)
    own: dict[str, SignalFinding] = field(default_factory=dict)
    own_logs: list[LogFinding] = field(default_factory=list)
    blame_logs: list[LogFinding] = field(default_factory=list)
    origins: list[TraceOrigin] = field(default_factory=list)
    origin_excess: float = 0.0


def _floor(signal: str) -> float:
    return FLOORS.get(signal, 0.005 if signal.startswith("latency") else 1e-9)


def _is_symptom(signal: str) -> bool:
    return signal in SYMPTOM_SIGNALS or signal.startswith("latency")


def _finding(series: MetricSeries, change: float, end: float, step: float) -> SignalFinding | None:
    before, after = split_at(series.points, change)
    if len(before) < 3:
        return None
    last_seen = series.points[-1][0] if series.points else change
    if not after or last_seen < end - max(4 * step, 0.1 * (end - change)):
        return SignalFinding(ABSENT, 10.0, median(before), 0.0, series.query)
    if series.signal == RESTARTS:
        grew = max(after) - before[-1]
        return SignalFinding(
            RESTARTS, 6.0 + 2.0 * grew if grew >= 1 else 0.0, before[-1], max(after), series.query
        )
    floor = _floor(series.signal)
    up = shift_score(before, after, floor)
    if series.signal in (CPU, MEMORY):
        up = max(0.0, up)  # less CPU or memory is a consequence (less traffic), never a cause
    elif series.signal == REQUEST_RATE or not (series.signal in FLOORS or _is_symptom(series.signal)):
        down = drop_score(before, after, floor)
        up = up if up >= down else -down
    level = sorted(after)[int(0.75 * (len(after) - 1))]
    return SignalFinding(series.signal, up, median(before), level, series.query)


def _typical_step(bundle: EvidenceBundle) -> float:
    gaps = [b[0] - a[0] for s in bundle.metrics for a, b in zip(s.points, s.points[1:], strict=False)]
    return median(gaps) if gaps else 60.0


def _log_burst(template: LogTemplate, start: float, change: float, end: float) -> float:
    before = sum(c for t, c in template.buckets if t < change - 1e-6)
    after = sum(c for t, c in template.buckets if t >= change - 1e-6)
    rate_before = before / max(change - start, 60.0) * 60.0
    rate_after = after / max(end - change, 60.0) * 60.0
    return (rate_after - rate_before) / math.sqrt(rate_before + 1.0)


def _mentions(text: str, services: list[str], own: str) -> list[str]:
    named = []
    for other in services:
        if other != own and re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", text):
            named.append(other)
    return named


def collect_findings(bundle: EvidenceBundle, change: float) -> dict[str, ServiceFindings]:
    """Findings for every service of the bundle (and every service the evidence names)."""
    names = sorted(
        set(bundle.services)
        | {s.service for s in bundle.metrics}
        | {t.service for t in bundle.log_templates}
        | {s.service for s in bundle.trace_stats}
        | {o.service for o in bundle.trace_origins}
    )
    found = {name: ServiceFindings(name) for name in names}
    step = _typical_step(bundle)
    for series in bundle.metrics:
        finding = _finding(series, change, bundle.end, step)
        if finding is None:
            continue
        target = found[series.service].symptoms if _is_symptom(finding.signal) else found[series.service].own
        previous = target.get(finding.signal)
        if previous is None or abs(finding.score) > abs(previous.score):
            target[finding.signal] = finding
    for template in bundle.log_templates:
        burst = _log_burst(template, bundle.start, change, bundle.end)
        if burst <= 0.5:
            continue
        named = _mentions(template.template, names, template.service)
        for other in named:
            found[other].blame_logs.append(LogFinding(burst / len(named), template))
        if not named:
            found[template.service].own_logs.append(LogFinding(burst, template))
    _trace_findings(bundle, change, found)
    return found


def _trace_findings(bundle: EvidenceBundle, change: float, found: dict[str, ServiceFindings]) -> None:
    for stats in bundle.trace_stats:
        before = [b for b in stats.buckets if b.start < change - bundle.trace_bucket_s]
        after = [b for b in stats.buckets if b.start >= change]
        span_before = max(1, len(before))
        origins_before = sum(b.error_origins for b in before) / span_before
        origins_after = sum(b.error_origins for b in after)
        found[stats.service].origin_excess = max(0.0, origins_after - origins_before * max(1, len(after)))
        per_span_before = [b.self_time_ms / b.spans for b in before if b.spans]
        per_span_after = [b.self_time_ms / b.spans for b in after if b.spans]
        if len(per_span_before) >= 3 and per_span_after:
            score = max(0.0, shift_score(per_span_before, per_span_after, 1.0, q=0.5))
            level = sorted(per_span_after)[len(per_span_after) // 2]
            found[stats.service].own[SELF_TIME] = SignalFinding(
                SELF_TIME,
                score,
                median(per_span_before),
                level,
                f"jaeger: self-time of {stats.service} spans",
            )
    by_service: dict[str, list[TraceOrigin]] = defaultdict(list)
    for origin in bundle.trace_origins:
        if origin.time >= change - bundle.trace_bucket_s:
            by_service[origin.service].append(origin)
    for service, origins in by_service.items():
        found[service].origins = origins
        if service not in {s.service for s in bundle.trace_stats}:
            found[service].origin_excess = float(len(origins))
