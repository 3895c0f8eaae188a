"""collect: metrics, log templates and traces from the three backends at once, into one bundle.

Each backend is bounded in time; one that is missing, down, slow or talking nonsense becomes a
recorded gap, so the analysis always completes from whatever the other backends said. The call
graph the scope step already fetched is handed to the trace tool, so it is asked for once.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

import structlog

from aegis.rca_worker.backends.jaeger import JaegerClient
from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.prometheus import PrometheusClient
from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient
from aegis.rca_worker.evidence import EvidenceBundle, EvidenceGap, SourceName
from aegis.rca_worker.identity import unify
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.pipeline.steps import StepOutcome
from aegis.rca_worker.settings import WorkerSettings
from aegis.rca_worker.tools.call_graph import CallGraph
from aegis.rca_worker.tools.jaeger_query_traces import JaegerEvidence, jaeger_query_traces
from aegis.rca_worker.tools.loki_collect_evidence import LokiEvidence, loki_collect_evidence
from aegis.rca_worker.tools.prometheus_query_range import PrometheusEvidence, prometheus_query_range
from aegis.rca_worker.tools.promql_templates import custom_convention
from aegis.shared.messages import message
from aegis.shared.questions import TimeWindow

log = structlog.get_logger(__name__)
T = TypeVar("T")


async def _guarded(
    source: SourceName, job: Awaitable[T], gaps: list[EvidenceGap], budget_s: float | None = None
) -> T | None:
    try:
        async with asyncio.timeout(budget_s):
            return await job
    except TimeoutError:
        gaps.append(EvidenceGap(source=source, reason=f"did not finish within {budget_s:g}s"))
    except BackendUnavailable as error:
        gaps.append(EvidenceGap(source=source, reason=error.reason))
    except Exception as error:  # noqa: BLE001 - any failure of one backend must leave the others' evidence usable
        log.warning("evidence_tool_failed", source=source, error=repr(error))
        gaps.append(EvidenceGap(source=source, reason=f"failed: {type(error).__name__}: {str(error)[:120]}"))
    return None


async def _timed(name: str, timings: dict[str, int], job: Callable[[], Awaitable[T]]) -> T:
    began = time.perf_counter()
    try:
        return await job()
    finally:
        timings[f"{name}_ms"] = int((time.perf_counter() - began) * 1000)


async def collect_evidence(
    client: ReadOnlyClient,
    settings: WorkerSettings,
    services: Sequence[str] | None,
    window: TimeWindow,
    change_hint: datetime | None = None,
    timings: dict[str, int] | None = None,
    graph: CallGraph | None = None,
) -> EvidenceBundle:
    """Run the three tools concurrently over the window (plus the baseline lookback) and bundle the result.

    `services` are the scope as the scope step widened it (all the backends know when None); `graph`
    is the call graph it fetched, if any. Each backend gets `settings.backend_budget_s` for all its
    requests together.
    """
    timings = {} if timings is None else timings
    gaps: list[EvidenceGap] = []
    budget = settings.backend_budget_s
    start = window.start.timestamp() - settings.baseline_lookback_s
    end = window.end.timestamp()
    jaeger, loki, prometheus = JaegerClient(client), LokiClient(client), PrometheusClient(client)
    scope: list[str] | None = sorted(services) if services else None
    if scope:  # also ask each backend under the other names the settings give a service
        scope = sorted({*scope, *(name for name, one in settings.service_aliases.items() if one in scope)})
    for backend in Backend:
        if not client.configured(backend):
            gaps.append(EvidenceGap(source=backend.value, reason="not configured"))
    custom = (
        custom_convention(
            settings.promql_templates, settings.promql_service_label, settings.promql_probe_metric
        )
        if settings.promql_templates
        else None
    )

    async def run_prometheus() -> PrometheusEvidence | None:
        if not client.configured(Backend.PROMETHEUS):
            return None
        return await _guarded(
            "prometheus",
            prometheus_query_range(
                prometheus,
                scope,
                start,
                end,
                settings.prometheus_step_s,
                settings.prometheus_rate_window,
                custom,
            ),
            gaps,
            budget,
        )

    async def run_loki() -> LokiEvidence | None:
        if not client.configured(Backend.LOKI):
            return None
        return await _guarded(
            "loki",
            loki_collect_evidence(
                loki,
                scope,
                start,
                end,
                label_key=settings.loki_service_label_key,
                selector_template=settings.loki_selector_template,
                page_limit=settings.loki_page_limit,
                max_pages=settings.loki_max_pages,
            ),
            gaps,
            budget,
        )

    async def run_jaeger() -> JaegerEvidence | None:
        if not client.configured(Backend.JAEGER):
            return None
        return await _guarded(
            "jaeger",
            jaeger_query_traces(
                jaeger,
                scope,
                start,
                end,
                limit=settings.jaeger_trace_limit,
                slices=settings.jaeger_time_slices,
                slow_ms=settings.jaeger_slow_ms,
                graph=graph,
            ),
            gaps,
            budget,
        )

    prom, logs, traces = await asyncio.gather(
        _timed("prometheus", timings, run_prometheus),
        _timed("loki", timings, run_loki),
        _timed("jaeger", timings, run_jaeger),
    )
    return unify(_bundle(scope, start, end, change_hint, gaps, prom, logs, traces), settings.service_aliases)


def _bundle(
    scope: list[str] | None,
    start: float,
    end: float,
    change_hint: datetime | None,
    gaps: list[EvidenceGap],
    prom: PrometheusEvidence | None,
    logs: LokiEvidence | None,
    traces: JaegerEvidence | None,
) -> EvidenceBundle:
    sources: dict[str, str] = {}
    known: set[str] = set()
    if prom is not None:
        gaps.extend(prom.gaps)
        known |= prom.services_known
        sources["prometheus"] = f"{len(prom.series)} series; conventions: {prom.describe()}"
    if logs is not None:
        gaps.extend(logs.gaps)
        known |= logs.services_known
        cut = f"; truncated: {', '.join(logs.truncated)}" if logs.truncated else ""
        sources["loki"] = f"{logs.lines_read} lines in {len(logs.templates)} templates{cut}"
    if traces is not None:
        gaps.extend(traces.gaps)
        known |= traces.services_known
        sources["jaeger"] = f"{traces.traces_read} traces, {len(traces.origins)} error origins" + (
            f"; {traces.graph_note}" if traces.graph_note else ""
        )
    services = scope if scope is not None else sorted(known)
    edges = sorted(traces.edges) if traces is not None else []
    return EvidenceBundle(
        start=start,
        end=end,
        services=services,
        edges=edges,
        metrics=prom.series if prom else [],
        changes=prom.changes if prom else [],
        log_templates=logs.templates if logs else [],
        trace_stats=traces.stats if traces else [],
        trace_origins=traces.origins if traces else [],
        operations=traces.operations if traces else [],
        gaps=gaps,
        sources=sources,
        change_hint=change_hint.timestamp() if change_hint else None,
    )


async def collect(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Gather metrics, log templates and traces for the scope (already widened to callees)."""
    timings: dict[str, int] = {}
    bundle = await collect_evidence(
        context.client,
        context.settings,
        state.get("services"),
        state["scope"].window,
        timings=timings,
        graph=state.get("graph"),
    )
    counts = {
        "services": len(bundle.services),
        "series": len(bundle.metrics),
        "log_templates": len(bundle.log_templates),
        "trace_origins": len(bundle.trace_origins),
        "gaps": len(bundle.gaps),
    }
    locale = context.settings.locale
    line = message(locale, "collect.counts", **counts)
    if bundle.gaps:
        line += message(locale, "collect.gaps", gaps=len(bundle.gaps))
    return StepOutcome({"bundle": bundle, "timings": timings}, line, counts)
