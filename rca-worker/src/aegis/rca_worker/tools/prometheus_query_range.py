"""`prometheus_query_range`: RED and saturation signals per service, under whichever convention exists.

Discovery first (which services carry which probe metric, and which label holds the HTTP status),
then one range query per signal for all services in scope, concurrently. The result says which
convention it used; a convention that is absent is not an error, a backend that fails is a gap.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aegis.rca_worker.backends.prometheus import PrometheusClient
from aegis.rca_worker.backends.readonly import BackendUnavailable
from aegis.rca_worker.evidence import EvidenceGap, MetricSeries
from aegis.rca_worker.tools.promql_templates import (
    RED_CONVENTIONS,
    SATURATION_CONVENTIONS,
    Convention,
    render,
)


@dataclass
class PrometheusEvidence:
    """Series per (service, signal), the conventions used, the services Prometheus knows, and gaps."""

    series: list[MetricSeries] = field(default_factory=list)
    conventions: list[str] = field(default_factory=list)
    services_known: set[str] = field(default_factory=set)
    gaps: list[EvidenceGap] = field(default_factory=list)

    def describe(self) -> str:
        """Which conventions supplied the series, for `EvidenceBundle.sources`."""
        return ", ".join(self.conventions) or "no known convention found"


@dataclass(frozen=True)
class _Found:
    convention: Convention
    services: list[str]
    status_label: str


async def _discover(
    client: PrometheusClient, convention: Convention, wanted: Sequence[str] | None, start: float, end: float
) -> _Found | None:
    known = await client.label_values(convention.service_label, start, end, [convention.probe_metric])
    services = [s for s in known if wanted is None or s in wanted]
    if not services:
        return None
    status = "code"
    if convention.status_labels:
        labels = await client.series(
            [f'{convention.probe_metric}{{{convention.service_label}="{services[0]}"}}'], start, end
        )
        names = {name for labelset in labels for name in labelset}
        status = next((s for s in convention.status_labels if s in names), convention.status_labels[0])
    return _Found(convention, services, status)


async def _first_present(
    client: PrometheusClient,
    conventions: Sequence[Convention],
    wanted: Sequence[str] | None,
    start: float,
    end: float,
) -> list[_Found]:
    """The first convention of `conventions` that has series for the wanted services (RED)."""
    for convention in conventions:
        found = await _discover(client, convention, wanted, start, end)
        if found is not None:
            return [found]
    return []


async def _all_present(
    client: PrometheusClient,
    conventions: Sequence[Convention],
    wanted: Sequence[str] | None,
    start: float,
    end: float,
) -> list[_Found]:
    found = await asyncio.gather(*(_discover(client, c, wanted, start, end) for c in conventions))
    return [f for f in found if f is not None]


async def _query_signal(
    client: PrometheusClient,
    found: _Found,
    signal: str,
    template: str,
    start: float,
    end: float,
    step: float,
    window: str,
) -> list[MetricSeries]:
    label = found.convention.service_label
    query = render(template, label, found.services, window, found.status_label)
    rows = await client.query_range(query, start, end, step)
    result = []
    for row in rows:
        service = row.labels.get(label)
        if service is None:
            continue
        points = [(t, v) for t, v in row.points if v == v and abs(v) != float("inf")]
        single = render(template, label, [service], window, found.status_label)
        result.append(MetricSeries(service=service, signal=signal, query=single, points=points))
    return result


async def prometheus_query_range(
    client: PrometheusClient,
    services: Sequence[str] | None,
    start: float,
    end: float,
    step: float = 15.0,
    window: str = "1m",
    custom: Convention | None = None,
) -> PrometheusEvidence:
    """RED + saturation series for `services` (all that Prometheus knows when None) in [start, end]."""
    evidence = PrometheusEvidence()
    red_choices = ((custom,) if custom else ()) + RED_CONVENTIONS
    try:
        red, saturation = await asyncio.gather(
            _first_present(client, red_choices, services, start, end),
            _all_present(client, SATURATION_CONVENTIONS, services, start, end),
        )
    except BackendUnavailable as error:
        evidence.gaps.append(EvidenceGap(source="prometheus", reason=f"discovery failed: {error.reason}"))
        return evidence
    jobs = [
        (found, signal, template)
        for found in red + saturation
        for signal, template in found.convention.templates.items()
    ]
    for found in red + saturation:
        evidence.services_known.update(found.services)
        if found.convention.name not in evidence.conventions:
            evidence.conventions.append(found.convention.name)
    outcomes = await asyncio.gather(
        *(_query_signal(client, f, sig, tpl, start, end, step, window) for f, sig, tpl in jobs),
        return_exceptions=True,
    )
    for (found, signal, _), outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, BackendUnavailable):
            reason = f"{signal} ({found.convention.name}) failed: {outcome.reason}"
            evidence.gaps.append(EvidenceGap(source="prometheus", reason=reason))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            evidence.series.extend(outcome)
    if not red and not saturation:
        evidence.gaps.append(
            EvidenceGap(source="prometheus", reason="no series of any known convention in the window")
        )
    evidence.series.sort(key=lambda s: (s.service, s.signal))
    return evidence
