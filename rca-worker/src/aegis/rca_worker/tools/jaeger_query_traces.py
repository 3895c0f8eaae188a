"""`jaeger_query_traces`: where errors start and where time goes, from sampled traces.

Per service in scope it searches erroring and slow traces; across the window it samples traces of
the entry services slice by slice, so that "before" and "after" both have traces. Every trace is
digested once: deepest erroring span as the likely origin, per-service self-time, call edges.
When the dependencies API has no edges (the usual case on real storage), the entry services are
found from the call edges of the erroring and slow traces, read first; `graph_note` says so once.
A call graph the caller already fetched is used as it is, so one analysis asks for it once. The
per-operation self-time and call-gap samples go to the ranking with the per-service statistics.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aegis.rca_worker.backends.jaeger import JaegerClient, Trace
from aegis.rca_worker.backends.readonly import BackendUnavailable
from aegis.rca_worker.evidence import EvidenceGap, OperationTimings, ServiceTraceStats, TraceOrigin
from aegis.rca_worker.tools.call_graph import CallGraph
from aegis.rca_worker.trace_analysis import TraceDigest

MAX_ORIGINS_KEPT = 200
Search = tuple[str, int, int, dict[str, str] | None, str | None]


@dataclass
class JaegerEvidence:
    """Per-service and per-operation trace statistics, error origins, the call graph, services Jaeger
    knows, and gaps."""

    stats: list[ServiceTraceStats] = field(default_factory=list)
    operations: list[OperationTimings] = field(default_factory=list)
    origins: list[TraceOrigin] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set)
    services_known: set[str] = field(default_factory=set)
    traces_read: int = 0
    gaps: list[EvidenceGap] = field(default_factory=list)
    graph_note: str = ""
    requests: int = 0


async def _dependencies(client: JaegerClient, start: float, end: float) -> list[tuple[str, str, int]]:
    return await client.dependencies(int(end * 1000), int((end - start) * 1000))


async def _known(graph: CallGraph) -> list[tuple[str, str, int]]:
    return [(caller, callee, 0) for caller, callee in sorted(graph.edges)]


def _slices(entries: Sequence[str], start_us: int, end_us: int, slices: int) -> list[Search]:
    """One search per entry service and per slice of [start_us, end_us), the slices of equal width."""
    width = (end_us - start_us) // slices
    return [
        (service, start_us + i * width, start_us + (i + 1) * width, None, None)
        for service in entries
        for i in range(slices)
    ]


def _held_span(
    held: Sequence[bool], entries: int, start_us: int, end_us: int, slices: int
) -> tuple[int, int] | None:
    """The part of the window the traces are in, from the first slice that held any to the last,
    when that is at most half of the slices (the store kept traces only around the incident); else
    None: the slices already sample where the traces are."""
    width = (end_us - start_us) // slices
    full = [i for i in range(slices) if any(held[e * slices + i] for e in range(entries))]
    if not full or full[-1] - full[0] + 1 > slices // 2:
        return None
    return start_us + full[0] * width, start_us + (full[-1] + 1) * width


def entry_services(services: Sequence[str], edges: set[tuple[str, str]]) -> list[str]:
    """Services nobody in scope calls (the front doors); all of them when the graph is unknown."""
    callees = {callee for _, callee in edges}
    entries = [s for s in services if s not in callees]
    return sorted(entries or services)


async def jaeger_query_traces(
    client: JaegerClient,
    services: Sequence[str] | None,
    start: float,
    end: float,
    *,
    limit: int = 20,
    slices: int = 8,
    slow_ms: int = 500,
    bucket_s: float = 60.0,
    graph: CallGraph | None = None,
) -> JaegerEvidence:
    """Trace evidence for `services` (all Jaeger knows when None) in [start, end]; `graph`, when
    given, is the call graph already fetched for this analysis."""
    evidence = JaegerEvidence()
    start_us, end_us = int(start * 1e6), int(end * 1e6)
    known, deps = await asyncio.gather(
        client.services(),
        _dependencies(client, start, end) if graph is None else _known(graph),
        return_exceptions=True,
    )
    if isinstance(known, BackendUnavailable):
        evidence.gaps.append(EvidenceGap(source="jaeger", reason=f"services failed: {known.reason}"))
        return evidence
    if isinstance(known, BaseException):
        raise known
    evidence.services_known = set(known)
    if isinstance(deps, BackendUnavailable):
        evidence.graph_note = f"dependencies API failed ({deps.reason}); call graph derived from traces"
    elif isinstance(deps, BaseException):
        raise deps
    else:
        evidence.edges = {(parent, child) for parent, child, _ in deps if parent != child}
        if graph is not None and graph.note:
            evidence.graph_note = graph.note
        elif not evidence.edges:
            evidence.graph_note = "dependencies API answered no edges; call graph derived from traces"
    scope = sorted(s for s in (services if services is not None else known) if s in evidence.services_known)
    targeted: list[Search] = []
    for service in scope:
        targeted.append((service, start_us, end_us, {"error": "true"}, None))
        targeted.append((service, start_us, end_us, None, f"{slow_ms}ms"))
    lane = client.lane
    digest = TraceDigest(bucket_s=bucket_s)
    # Operations are compared against their own normal, so they are timed only on the traces sampled
    # evenly across the window: the error and slow searches would make "after" look worse by choice.
    sampled = TraceDigest(bucket_s=bucket_s)
    decoded: set[str] = set()
    failed: dict[str, str] = {}

    async def run(searches: list[Search], seen: set[str], also: TraceDigest | None = None) -> list[bool]:
        """Digest what each search found; per search, whether it found any trace."""
        outcomes = await asyncio.gather(
            *(
                client.find_traces(svc, lo, hi, limit, tags, slow, seen)
                for svc, lo, hi, tags, slow in searches
            ),
            return_exceptions=True,
        )
        evidence.requests += len(searches)
        held: list[bool] = []
        found: list[Trace] = []
        for (service, *_), outcome in zip(searches, outcomes, strict=True):
            if isinstance(outcome, BackendUnavailable):
                failed.setdefault(service, outcome.reason)
                held.append(False)
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            held.append(bool(outcome))
            found.extend(sorted(outcome, key=lambda t: t.trace_id))
        await lane.run(_digest, found, digest, also)
        return held

    await run(targeted, decoded)
    entries = entry_services(scope, edges=evidence.edges or digest.edges)
    held = await run(_slices(entries, start_us, end_us, slices), set(), sampled)
    span = _held_span(held, len(entries), start_us, end_us, slices)
    if span is not None:
        # Traces kept only for minutes around the incident fill a slice or two, and a search answers
        # the newest of a slice only: sampled again across where they are, "before" has traces too.
        sampled = TraceDigest(bucket_s=bucket_s)
        await run(_slices(entries, *span, slices), set(), sampled)
    evidence.gaps.extend(EvidenceGap(source="jaeger", service=s, reason=r) for s, r in sorted(failed.items()))
    evidence.stats, evidence.operations = await lane.run(lambda: (digest.stats(), sampled.operations()))
    evidence.origins = sorted(digest.origins, key=lambda o: (o.time, o.trace_id))[-MAX_ORIGINS_KEPT:]
    evidence.edges |= digest.edges
    evidence.traces_read = digest.traces_counted
    return evidence


def _digest(traces: list[Trace], digest: TraceDigest, also: TraceDigest | None) -> None:
    """Count `traces` into `digest` (and `also`), in their order: the CPU-bound part of the tool."""
    for trace in traces:
        digest.add(trace)
        if also is not None:
            also.add(trace)
