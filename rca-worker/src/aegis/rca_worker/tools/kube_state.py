"""Kubernetes state and what changed, read-only, from kube-state-metrics through Prometheus.

Restarts with their reason (OOMKilled, Error), CrashLoopBackOff, unavailable replicas, and rollouts
(a new ReplicaSet of the deployment, or a generation change) in or just before the window. Each
state becomes a series (so the ranking weighs it like any other own signal: `oom_killed`,
`crash_loop`, `replicas_unavailable`) and a `Change` with its time, so that "payment was rolled out
two minutes before the errors began" can be said. A rollout is a `Change` only, not a series: a
step at the rollout would be taken for the onset of the anomaly it may have caused. Nothing here
writes to the cluster: it is PromQL.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from aegis.rca_worker.backends.prometheus import PrometheusClient, RangeSeries
from aegis.rca_worker.backends.readonly import BackendUnavailable
from aegis.rca_worker.evidence import (
    CRASH_LOOP,
    OOM_KILLED,
    REPLICAS_UNAVAILABLE,
    Change,
    EvidenceGap,
    MetricSeries,
)
from aegis.rca_worker.tools.promql_templates import (
    NAMESPACE,
    POD,
    SERVICE,
    SIDECARS,
    Identity,
    Query,
    quote,
    regex_alternatives,
)

FAMILY = "kube-state-metrics"
DEPLOYMENT = Identity("deployment")
OWNER = Identity("owner_name")


@dataclass
class KubeStateEvidence:
    """Kubernetes state series, the changes found in them, and gaps."""

    series: list[MetricSeries] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    gaps: list[EvidenceGap] = field(default_factory=list)


def _selector(identity: Identity, services: Sequence[str] | None, *extra: str) -> str:
    label = identity.label
    first = (
        f"{label}=~{quote(identity.select.replace('{names}', regex_alternatives(services)))}"
        if services is not None
        else f'{label}!=""'
    )
    return ", ".join([first, *extra])


def _query(identity: Identity, services: Sequence[str] | None, *extra: str) -> Query:
    return Query(_selector(identity, services, *extra), "", "", identity, "")


NOT_SIDECAR = f"container!~{quote('|'.join(SIDECARS))}"


def queries(services: Sequence[str] | None) -> dict[str, tuple[str, str]]:
    """signal -> (probe metric, PromQL) of every state signal for `services`."""
    oom = _query(POD, services, 'reason="OOMKilled"', NOT_SIDECAR)
    crash = _query(POD, services, 'reason="CrashLoopBackOff"', NOT_SIDECAR)
    unavailable = _query(DEPLOYMENT, services)
    generation = _query(DEPLOYMENT, services)
    owned = _query(OWNER, services, 'owner_kind="Deployment"')
    created = (
        "kube_replicaset_created * on (namespace, replicaset) group_left (owner_name) "
        f"kube_replicaset_owner{{{owned.selector}}}"
    )
    return {
        OOM_KILLED: (
            "kube_pod_container_status_last_terminated_reason",
            oom.total(f"kube_pod_container_status_last_terminated_reason{{{oom.selector}}}"),
        ),
        CRASH_LOOP: (
            "kube_pod_container_status_waiting_reason",
            crash.total(f"kube_pod_container_status_waiting_reason{{{crash.selector}}}"),
        ),
        REPLICAS_UNAVAILABLE: (
            "kube_deployment_status_replicas_unavailable",
            unavailable.total(f"kube_deployment_status_replicas_unavailable{{{unavailable.selector}}}"),
        ),
        "generation": (
            "kube_deployment_metadata_generation",
            generation.total(f"kube_deployment_metadata_generation{{{generation.selector}}}"),
        ),
        "replicaset_created": ("kube_replicaset_created", owned.total(f"({created})", by="replicaset")),
    }


def rises(points: list[tuple[float, float]], start: float) -> list[tuple[float, float, float]]:
    """(time, before, after) of each increase, counting a series that appears after `start` from 0."""
    found = []
    if points and points[0][0] > start + 1 and points[0][1] > 0:
        found.append((points[0][0], 0.0, points[0][1]))
    for (_, before), (t, after) in pairwise(points):
        if after > before:
            found.append((t, before, after))
    return found


ChangeKind = Literal["rollout", "oom_killed", "crash_loop", "replicas_unavailable"]


def describe_rise(signal: str, before: float, after: float) -> tuple[ChangeKind, str] | None:
    """What an increase of a state series means, or None when it means nothing new."""
    if signal == "generation":
        return ("rollout", f"deployment generation {before:g} → {after:g}") if before > 0 else None
    if signal == OOM_KILLED:
        return "oom_killed", "container restarted after OOMKilled"
    if signal == CRASH_LOOP:
        return "crash_loop", "container in CrashLoopBackOff"
    if signal == REPLICAS_UNAVAILABLE and before == 0:
        return "replicas_unavailable", f"{after:g} replicas unavailable"
    return None


def _changes(signal: str, row: RangeSeries, start: float, end: float, query: str) -> list[Change]:
    service, namespace = row.labels.get(SERVICE, ""), row.labels.get(NAMESPACE, "")
    found: list[tuple[float, ChangeKind, str]] = []
    if signal == "replicaset_created":
        created = max((v for _, v in row.points), default=0.0)
        if start <= created <= end:
            found.append((created, "rollout", f"new ReplicaSet {row.labels.get('replicaset', '?')}"))
    else:
        for t, before, after in rises(row.points, start):
            meaning = describe_rise(signal, before, after)
            if meaning is not None:
                found.append((t, *meaning))
    return [
        Change(service=service, time=t, kind=kind, detail=detail, query=query, namespace=namespace)
        for t, kind, detail in found
    ]


async def kube_state(
    client: PrometheusClient,
    services: Sequence[str] | None,
    start: float,
    end: float,
    step: float,
    metric_names: set[str],
) -> KubeStateEvidence:
    """State series and changes of `services` (every deployment when None) in [start, end]."""
    evidence = KubeStateEvidence()
    wanted = {signal: q for signal, (probe, q) in queries(services).items() if probe in metric_names}
    outcomes = await asyncio.gather(
        *(client.query_range(q, start, end, step) for q in wanted.values()), return_exceptions=True
    )
    for (signal, query), outcome in zip(wanted.items(), outcomes, strict=True):
        if isinstance(outcome, BackendUnavailable):
            evidence.gaps.append(
                EvidenceGap(source="prometheus", reason=f"{signal} ({FAMILY}) failed: {outcome.reason}")
            )
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        for row in outcome:
            service = row.labels.get(SERVICE, "")
            if not service or (services is not None and service not in services):
                continue
            evidence.changes += _changes(signal, row, start, end, query)
            if signal in (OOM_KILLED, CRASH_LOOP, REPLICAS_UNAVAILABLE):
                evidence.series.append(
                    MetricSeries(
                        service=service,
                        signal=signal,
                        query=query,
                        points=row.points,
                        family=FAMILY,
                        namespace=row.labels.get(NAMESPACE, ""),
                    )
                )
    evidence.changes.sort(key=lambda c: (c.time, c.service, c.kind))
    return evidence
