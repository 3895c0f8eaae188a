"""What traces say about where errors start and where time is spent, as pure functions over spans.

Per trace, the deepest erroring span is the likely origin: its callers failed because it did. A
client span with no child that names its peer (`peer.service`) blames that peer: the callee never
answered (down, dropped packets), so no span of its own exists. Self-time is a span's duration minus
its children's, so a caller waiting on a slow callee is not itself slow. The time between a caller's
span and its callee's span (the caller's duration minus the callee's) is the network and queue between
them: a delayed service shows there, in every call into it, and nowhere in its own spans' self-time.
Each call of an operation also records which services it went on to call: code that returns early
stops calling what it always called.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from aegis.rca_worker.backends.jaeger import Span, Trace
from aegis.rca_worker.evidence import OperationTimings, ServiceTraceStats, TraceBucket, TraceOrigin

PEER_TAGS = ("peer.service", "server.address", "net.peer.name", "db.system")


def _depths(spans: list[Span]) -> dict[str, int]:
    parents = {s.span_id: s.parent_id for s in spans}
    depths: dict[str, int] = {}
    for span in spans:
        depth, current, seen = 0, span.parent_id, set()
        while current is not None and current in parents and current not in seen:
            seen.add(current)
            depth += 1
            current = parents[current]
        depths[span.span_id] = depth
    return depths


def blamed_service(span: Span, has_children: bool) -> str:
    """The service an erroring span points at: its peer for a childless client span, else its own."""
    if not has_children and span.tags.get("span.kind") == "client":
        for key in PEER_TAGS:
            peer = span.tags.get(key)
            if peer:
                return peer
    return span.service


def error_origin(trace: Trace) -> tuple[str, Span] | None:
    """(service, span) where this trace's error most likely started, or None if nothing errored."""
    errors = [s for s in trace.spans if s.error]
    if not errors:
        return None
    depths = _depths(trace.spans)
    parents_with_children = {s.parent_id for s in trace.spans if s.parent_id}
    deepest = max(errors, key=lambda s: (depths[s.span_id], -s.start_us, s.span_id))
    return blamed_service(deepest, deepest.span_id in parents_with_children), deepest


def is_network_timeout(service: str, span: Span) -> bool:
    """Whether an origin is a timeout on a childless client span: the network between two services."""
    kind = (span.tags.get("error.type", "") + span.tags.get("otel.status_description", "")).lower()
    return service != span.service and ("timeout" in kind or "deadline" in kind)


def timeout_shares(
    timeouts: list[tuple[str, str]], edges: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[float, float]]:
    """For each timed-out (caller, callee) edge, the shares of blame of caller and callee.

    A refused or failed call blames the callee. A timeout is the network between the two: either
    end's interface may drop packets. The end whose *every* edge times out is the likelier one, so
    each end's share is proportional to the fraction of its observed edges that timed out.
    """
    failing = set(timeouts)
    touched: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for edge in edges | failing:
        touched[edge[0]].add(edge)
        touched[edge[1]].add(edge)

    def fraction(node: str) -> float:
        return len(touched[node] & failing) / max(1, len(touched[node]))

    shares = {}
    for caller, callee in failing:
        a, b = fraction(caller), fraction(callee)
        shares[(caller, callee)] = (a / (a + b), b / (a + b)) if a + b > 0 else (0.5, 0.5)
    return shares


def self_times_us(trace: Trace) -> dict[str, int]:
    """Span id → duration minus the summed durations of its direct children (never negative)."""
    children: dict[str, int] = defaultdict(int)
    for span in trace.spans:
        if span.parent_id:
            children[span.parent_id] += span.duration_us
    return {s.span_id: max(0, s.duration_us - children[s.span_id]) for s in trace.spans}


def _is_call_out(span: Span, children: list[Span]) -> bool:
    """A span wrapping one call into another service (a client span, tagged or not): its own time is
    the network and the callee's queue, which the call gap already counts, not work of its service."""
    if span.tags.get("span.kind") == "client":
        return bool(children)
    return len(children) == 1 and children[0].service != span.service


def call_edges(trace: Trace) -> set[tuple[str, str]]:
    """(caller, callee) service pairs seen in this trace, including childless client spans' peers."""
    by_id = {s.span_id: s for s in trace.spans}
    with_children = {s.parent_id for s in trace.spans if s.parent_id}
    edges: set[tuple[str, str]] = set()
    for span in trace.spans:
        parent = by_id.get(span.parent_id or "")
        if parent is not None and parent.service != span.service:
            edges.add((parent.service, span.service))
        peer = blamed_service(span, span.span_id in with_children)
        if peer != span.service:
            edges.add((span.service, peer))
    return edges


def _services_called(entry: Span, children: dict[str, list[Span]]) -> set[str]:
    """The other services one call into a service went on to call: below its entry span, through
    its own spans, the first span of another service (or a childless client span's peer)."""
    called: set[str] = set()
    stack = list(children.get(entry.span_id, []))
    while stack:
        span = stack.pop()
        if span.service != entry.service:
            called.add(span.service)
            continue
        peer = blamed_service(span, bool(children.get(span.span_id)))
        if peer != span.service:
            called.add(peer)
        stack.extend(children.get(span.span_id, []))
    return called


@dataclass
class TraceDigest:
    """Accumulates traces (each once) into per-service buckets and a list of error origins."""

    bucket_s: float = 60.0
    _seen: set[str] = field(default_factory=set)
    _buckets: dict[tuple[str, float], list[float]] = field(default_factory=dict)
    origins: list[TraceOrigin] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set)
    _timeouts: list[tuple[float, str, str]] = field(default_factory=list)
    _self: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    _gap: dict[tuple[str, str, str], list[tuple[float, float]]] = field(default_factory=dict)
    _called: dict[tuple[str, str], list[tuple[float, frozenset[str]]]] = field(default_factory=dict)

    def add(self, trace: Trace) -> None:
        """Count one trace, unless it was already counted."""
        if trace.trace_id in self._seen or not trace.spans:
            return
        self._seen.add(trace.trace_id)
        self.edges |= call_edges(trace)
        selfs = self_times_us(trace)
        with_children = {s.parent_id for s in trace.spans if s.parent_id}
        self._time_operations(trace, selfs)
        for span in trace.spans:
            # A leaf client span times its peer (a database, a cache); a failed one times only the failure.
            owner = blamed_service(span, span.span_id in with_children)
            if owner != span.service and span.error:
                continue
            if span.tags.get("span.kind") == "client" and span.span_id in with_children:
                continue  # its own time is the network between two services, not either one's work
            cell = self._cell(owner, span.start_us / 1e6)
            cell[0] += 1
            cell[1] += 1 if span.error else 0
            cell[3] += selfs[span.span_id] / 1000.0
        found = error_origin(trace)
        if found is not None:
            service, span = found
            if is_network_timeout(service, span):
                self._timeouts.append((span.start_us / 1e6, span.service, service))
            else:
                self._cell(service, span.start_us / 1e6)[2] += 1
            excerpt = f"{span.service} {span.operation} error" + (
                f" → {service}" if service != span.service else ""
            )
            self.origins.append(
                TraceOrigin(
                    trace_id=trace.trace_id,
                    service=service,
                    operation=span.operation,
                    time=span.start_us / 1e6,
                    excerpt=excerpt,
                )
            )

    def _time_operations(self, trace: Trace, selfs: dict[str, int]) -> None:
        by_id = {s.span_id: s for s in trace.spans}
        children: dict[str, list[Span]] = defaultdict(list)
        for span in trace.spans:
            if span.parent_id:
                children[span.parent_id].append(span)
        for span in trace.spans:
            at = span.start_us / 1e6
            if not _is_call_out(span, children[span.span_id]):
                # A leaf client span times its peer (a database, a cache), as the buckets count it.
                owner = blamed_service(span, bool(children[span.span_id]))
                self._self.setdefault((owner, span.operation), []).append((at, selfs[span.span_id] / 1000))
            parent = by_id.get(span.parent_id or "")
            if parent is not None and parent.service != span.service:
                gap_ms = max(0, parent.duration_us - span.duration_us) / 1000
                self._gap.setdefault((span.service, span.operation, parent.service), []).append((at, gap_ms))
            if parent is None or parent.service != span.service:
                called = frozenset(_services_called(span, children))
                self._called.setdefault((span.service, span.operation), []).append((at, called))

    def operations(self) -> list[OperationTimings]:
        """Self-time samples per (service, operation) and call-gap samples per (caller, callee operation)."""
        timed = [
            OperationTimings(service=s, operation=o, kind="self_time", samples=sorted(v))
            for (s, o), v in sorted(self._self.items())
        ]
        timed += [
            OperationTimings(service=s, operation=o, kind="call_gap", caller=c, samples=sorted(v))
            for (s, o, c), v in sorted(self._gap.items())
        ]
        for (service, operation), calls in sorted(self._called.items()):
            for callee in sorted(set().union(*(c for _, c in calls))):
                samples = sorted((t, 1.0 if callee in c else 0.0) for t, c in calls)
                timed.append(
                    OperationTimings(
                        service=service, operation=operation, kind="calls", callee=callee, samples=samples
                    )
                )
        return timed

    @property
    def traces_counted(self) -> int:
        """How many distinct traces were digested."""
        return len(self._seen)

    def _cell(self, service: str, time_s: float) -> list[float]:
        key = (service, time_s - time_s % self.bucket_s)
        return self._buckets.setdefault(key, [0, 0, 0, 0.0])

    def stats(self) -> list[ServiceTraceStats]:
        """Per-service buckets in time order, services sorted by name."""
        buckets = {key: list(cell) for key, cell in self._buckets.items()}
        shares = timeout_shares([(a, b) for _, a, b in self._timeouts], self.edges)
        for time_s, caller, callee in self._timeouts:
            for service, share in zip((caller, callee), shares[(caller, callee)], strict=True):
                buckets.setdefault((service, time_s - time_s % self.bucket_s), [0, 0, 0, 0.0])[2] += share
        per: dict[str, list[TraceBucket]] = defaultdict(list)
        for (service, start), (spans, errors, origins, self_ms) in sorted(buckets.items()):
            per[service].append(
                TraceBucket(
                    start=start,
                    spans=int(spans),
                    error_spans=int(errors),
                    error_origins=origins,
                    self_time_ms=self_ms,
                )
            )
        return [ServiceTraceStats(service=s, buckets=b) for s, b in sorted(per.items())]
