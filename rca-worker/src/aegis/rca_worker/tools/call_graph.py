"""Who calls whom: Jaeger's dependencies API when it has answers, else the traces themselves.

`/api/dependencies` is empty on most real Jaeger storage (no spark job), absent on Tempo and a 400 on
VictoriaTraces — the common case, not the exception. Then the graph is derived from the traces of
the named services (parent span's service → child span's service), which carry their callees
transitively. Either way the outcome says once how the graph was obtained.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aegis.rca_worker.backends.jaeger import JaegerClient
from aegis.rca_worker.backends.readonly import BackendUnavailable
from aegis.rca_worker.trace_analysis import call_edges


@dataclass(frozen=True)
class CallGraph:
    """(caller, callee) edges and how they were obtained (`dependencies`, `traces` or `unknown`)."""

    edges: set[tuple[str, str]]
    source: str
    note: str = ""


async def call_graph(
    client: JaegerClient, services: Sequence[str], start: float, end: float, limit: int = 20
) -> CallGraph:
    """The call graph around `services` in [start, end]."""
    reason = "the dependencies API answered no edges"
    try:
        deps = await client.dependencies(int(end * 1000), int((end - start) * 1000))
        edges = {(parent, child) for parent, child, _ in deps if parent != child}
        if edges:
            return CallGraph(edges, "dependencies")
    except BackendUnavailable as error:
        reason = f"the dependencies API failed ({error.reason})"
    found = await asyncio.gather(
        *(client.find_traces(s, int(start * 1e6), int(end * 1e6), limit) for s in sorted(set(services))),
        return_exceptions=True,
    )
    edges = set()
    read = 0
    for outcome in found:
        if isinstance(outcome, BackendUnavailable):
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        for trace in outcome:
            read += 1
            edges |= {(a, b) for a, b in call_edges(trace) if a != b}
    if not read:
        return CallGraph(set(), "unknown", f"{reason}, and no trace could be read")
    return CallGraph(edges, "traces", f"{reason}; call graph derived from traces ({read} read)")
