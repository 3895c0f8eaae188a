"""`prometheus_query_range`: RED and saturation signals per service, from whichever families exist.

Discovery first: which metric names exist (`/api/v1/label/__name__/values`), then per family found
which label names its services and which holds the status (`/api/v1/labels`), and the services
(`/api/v1/label/<l>/values`). Then one range query per signal and family for every service in
scope, concurrently, with the rate window at least four scrape intervals (read from the server) and
the step grown with the window. Every series names its family; a scope with no RED signal at all is
a gap, as are the server's warnings. A service name reaches PromQL only escaped, and a rejected
batch is retried service by service, so one odd label value cannot take the others' evidence along.
"""

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from aegis.rca_worker.backends.prometheus import PrometheusClient, RangeSeries, fit_step
from aegis.rca_worker.backends.readonly import BackendUnavailable, QueryRejected
from aegis.rca_worker.evidence import Change, EvidenceGap, MetricSeries
from aegis.rca_worker.tools.kube_state import kube_state
from aegis.rca_worker.tools.promql_templates import (
    NAMESPACE,
    RED_FAMILIES,
    SATURATION_FAMILIES,
    SERVICE,
    CustomTemplates,
    Family,
    Identity,
    render,
)

TARGET_POINTS = 1000
DEFAULT_SCRAPE_S = 30.0


@dataclass
class PrometheusEvidence:
    """Series per (service, signal), the families used, the services Prometheus knows, and gaps."""

    series: list[MetricSeries] = field(default_factory=list)
    conventions: list[str] = field(default_factory=list)
    services_known: set[str] = field(default_factory=set)
    gaps: list[EvidenceGap] = field(default_factory=list)
    found: list["Found"] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    window: str = ""
    step: float = 0.0

    def describe(self) -> str:
        """Which families supplied the series, for `EvidenceBundle.sources`."""
        found = ", ".join(self.conventions) or "no known family found"
        return f"{found}; rate window {self.window}, step {self.step:g}s" if self.window else found


@dataclass(frozen=True)
class Found:
    """A family present in the window: the identity naming its services, them, and the status label."""

    family: Family
    identity: Identity
    services: list[str]
    status: str


def rate_window(step: float, scrape_s: float | None, configured_s: float) -> str:
    """The `rate()` window: at least 4 scrape intervals, one step, and what the settings ask."""
    seconds = max(configured_s, 4 * (scrape_s or DEFAULT_SCRAPE_S), step)
    return f"{math.ceil(seconds)}s"


def window_seconds(text: str) -> float:
    """`1m`, `90s`, `1h` in seconds."""
    return float(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


def analysis_step(start: float, end: float, minimum: float) -> float:
    """The step: the settings' minimum, grown so the window has about `TARGET_POINTS` points."""
    return fit_step(start, end, minimum, TARGET_POINTS)


async def discover(
    client: PrometheusClient,
    families: Sequence[Family],
    names: set[str],
    wanted: Sequence[str] | None,
    start: float,
    end: float,
) -> list[Found]:
    """The families whose probe metric exists, with the services each has (within `wanted`)."""

    async def one(family: Family) -> Found | None:
        probe = (
            f"{family.probe_metric}{{{', '.join(family.matchers)}}}"
            if family.matchers
            else family.probe_metric
        )
        labels = set(await client.label_names([probe], start, end))
        for identity in family.identities:
            if identity.label not in labels:
                continue
            values = await client.label_values(identity.label, start, end, [probe])
            services = sorted({s for v in values if (s := identity.service_of(v))})
            if services:
                status = next((s for s in family.status_labels if s in labels), "code")
                chosen = [s for s in services if wanted is None or s in wanted]
                return Found(family, identity, chosen, status) if chosen else None
        return None

    found = await asyncio.gather(*(one(f) for f in families if f.probe_metric in names))
    return [f for f in found if f is not None]


def _series(rows: list[RangeSeries], found: Found, signal: str, window: str) -> list[MetricSeries]:
    wanted = set(found.services)
    kept = [(row, row.labels.get(SERVICE, ""), row.labels.get(NAMESPACE, "")) for row in rows]
    kept = [(row, service, ns) for row, service, ns in kept if service in wanted]
    homes = Counter(service for _, service, _ in kept)
    result = []
    for row, service, namespace in kept:
        points = [(t, v) for t, v in row.points if v == v and abs(v) != float("inf")]
        name = f"{namespace}/{service}" if homes[service] > 1 and namespace else service
        query = render(found.family, signal, found.identity, [service], window, found.status)
        result.append(
            MetricSeries(
                service=name,
                signal=signal,
                query=query,
                points=points,
                family=found.family.name,
                namespace=namespace,
            )
        )
    return result


async def query_signal(
    client: PrometheusClient,
    found: Found,
    signal: str,
    start: float,
    end: float,
    step: float,
    window: str,
) -> list[MetricSeries]:
    """One signal of one family for its services; a rejected batch is retried one service at a time."""
    query = render(found.family, signal, found.identity, found.services, window, found.status)
    try:
        return _series(await client.query_range(query, start, end, step), found, signal, window)
    except QueryRejected:
        if len(found.services) == 1:
            raise
    result: list[MetricSeries] = []
    for service in found.services:
        alone = Found(found.family, found.identity, [service], found.status)
        try:
            result += await query_signal(client, alone, signal, start, end, step, window)
        except QueryRejected:
            continue
    return result


async def _custom_series(
    client: PrometheusClient,
    custom: CustomTemplates,
    wanted: Sequence[str] | None,
    start: float,
    end: float,
    step: float,
    window: str,
) -> list[MetricSeries]:
    values = await client.label_values(custom.service_label, start, end, [custom.probe_metric])
    services = [v for v in values if wanted is None or v in wanted]
    if not services:
        return []
    result = []
    for signal in custom.templates:
        rows = await client.query_range(custom.render(signal, services, window), start, end, step)
        for row in rows:
            service = row.labels.get(custom.service_label)
            if service in services:
                points = [(t, v) for t, v in row.points if v == v and abs(v) != float("inf")]
                query = custom.render(signal, [service], window)
                result.append(
                    MetricSeries(
                        service=service, signal=signal, query=query, points=points, family=custom.name
                    )
                )
    return result


async def prometheus_query_range(
    client: PrometheusClient,
    services: Sequence[str] | None,
    start: float,
    end: float,
    step: float = 15.0,
    window: str = "1m",
    custom: CustomTemplates | None = None,
) -> PrometheusEvidence:
    """RED + saturation series for `services` (all that Prometheus knows when None) in [start, end]."""
    evidence = PrometheusEvidence()
    try:
        names, scrape_s = await asyncio.gather(
            client.label_values("__name__", start, end), client.scrape_interval()
        )
        step = analysis_step(start, end, max(step, scrape_s or 0.0))  # finer than a scrape shows nothing
        found = await discover(
            client, (*RED_FAMILIES, *SATURATION_FAMILIES), set(names), services, start, end
        )
    except BackendUnavailable as error:
        evidence.gaps.append(EvidenceGap(source="prometheus", reason=f"discovery failed: {error.reason}"))
        return evidence
    evidence.window, evidence.step, evidence.found = (
        rate_window(step, scrape_s, window_seconds(window)),
        step,
        found,
    )
    jobs = [(f, signal) for f in found for signal in f.family.signals]
    for f in found:
        evidence.services_known.update(f.services)
        if f.family.name not in evidence.conventions:
            evidence.conventions.append(f.family.name)
    extra = (
        [_custom_series(client, custom, services, start, end, step, evidence.window)]
        if custom is not None and custom.probe_metric in names
        else []
    )
    state_job = asyncio.create_task(kube_state(client, services, start, end, step, set(names)))
    outcomes = await asyncio.gather(
        *(query_signal(client, f, sig, start, end, step, evidence.window) for f, sig in jobs),
        *extra,
        return_exceptions=True,
    )
    state = await state_job
    evidence.series += state.series
    evidence.changes, evidence.gaps = state.changes, state.gaps
    labels = [f"{sig} ({f.family.name})" for f, sig in jobs] + ["custom templates"] * len(extra)
    for label, outcome in zip(labels, outcomes, strict=True):
        if isinstance(outcome, BackendUnavailable):
            evidence.gaps.append(EvidenceGap(source="prometheus", reason=f"{label} failed: {outcome.reason}"))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            evidence.series.extend(outcome)
    if extra and custom is not None:
        evidence.conventions.insert(0, custom.name)
    _red_gap(evidence, found, services)
    for note in dict.fromkeys(client.notes):
        evidence.gaps.append(EvidenceGap(source="prometheus", reason=f"partial answer: {note}"))
    evidence.series.sort(key=lambda s: (s.service, s.signal, s.family))
    return evidence


def _red_gap(evidence: PrometheusEvidence, found: list[Found], services: Sequence[str] | None) -> None:
    """A gap when the scope has no request rate, error ratio or latency from any family."""
    if not found:
        evidence.gaps.append(
            EvidenceGap(source="prometheus", reason="no series of any known metric family in the window")
        )
        return
    if any(f.family.kind == "red" for f in found):
        return
    looked = ", ".join(f.probe_metric for f in RED_FAMILIES)
    where = f" for {', '.join(sorted(services))[:120]}" if services else ""
    evidence.gaps.append(
        EvidenceGap(
            source="prometheus",
            reason=f"no request rate, error ratio or latency{where}: none of {looked} has series "
            "(set PROMQL_TEMPLATES for the estate's own metrics)",
        )
    )
