"""`analyse`: collect evidence from the three backends concurrently, then rank — the engine's entry point.

The LangGraph analysis (`graph`) wraps the same three steps (`collect_evidence`, `rank_candidates`,
`Analysis.to_result`) as nodes; the accuracy benchmark calls `rank_candidates` on recorded bundles.
A backend that is missing, down, slow or talking nonsense becomes a recorded gap: the analysis
always completes from whatever the other backends said.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import structlog

from aegis.rca_worker.backends.jaeger import JaegerClient
from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.prometheus import PrometheusClient
from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient
from aegis.rca_worker.change_words import with_changes
from aegis.rca_worker.evidence import EvidenceBundle, EvidenceGap, SourceName
from aegis.rca_worker.identity import unify
from aegis.rca_worker.ranking.candidates import Ranking, rank_candidates
from aegis.rca_worker.ranking.hypothesis import candidates
from aegis.rca_worker.settings import RcaSettings
from aegis.rca_worker.tools.call_graph import call_graph
from aegis.rca_worker.tools.jaeger_query_traces import JaegerEvidence, jaeger_query_traces
from aegis.rca_worker.tools.loki_collect_evidence import LokiEvidence, loki_collect_evidence
from aegis.rca_worker.tools.prometheus_query_range import PrometheusEvidence, prometheus_query_range
from aegis.rca_worker.tools.promql_templates import custom_convention
from aegis.shared.messages import message
from aegis.shared.questions import ReplyTo, TimeWindow
from aegis.shared.rca import RcaResult, RootCauseCandidate
from aegis.shared.settings import Locale
from aegis.shared.subjects import QuestionSource

log = structlog.get_logger(__name__)
T = TypeVar("T")


def expand_scope(named: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[str]:
    """The named services plus everything they call, transitively: users name symptoms, not causes."""
    callees: dict[str, set[str]] = {}
    for caller, callee in edges:
        callees.setdefault(caller, set()).add(callee)
    scope, stack = set(named), list(named)
    while stack:
        for callee in sorted(callees.get(stack.pop(), ())):
            if callee not in scope:
                scope.add(callee)
                stack.append(callee)
    return sorted(scope)


@dataclass
class Analysis:
    """Evidence, ranking and timings of one analysis."""

    bundle: EvidenceBundle
    ranking: Ranking
    timings: dict[str, int] = field(default_factory=dict)

    def candidates(self, locale: Locale = "zh", k: int = 3) -> list[RootCauseCandidate]:
        """The top `k` candidates with hypotheses in `locale`."""
        return with_changes(candidates(self.ranking, locale, k), self.bundle, self.ranking.change, locale)

    def to_result(
        self, request_id: str, source: QuestionSource, reply_to: ReplyTo | None = None, locale: Locale = "zh"
    ) -> RcaResult:
        """The deterministic `RcaResult` (model `none`)."""
        found = self.candidates(locale)
        gaps = [gap.describe() for gap in self.bundle.gaps]
        if found:
            top = found[0]
            summary = message(locale, "answer.top", service=top.service, confidence=top.confidence)
        else:
            summary = message(locale, "answer.no_anomaly")
        actions = [message(locale, "answer.check", service=c.service) for c in found[:2]]
        return RcaResult(
            request_id=request_id,
            source=source,
            reply_to=reply_to,
            summary=summary,
            root_causes=found,
            next_actions=actions,
            model="none",
            degraded=bool(gaps),
            degraded_reason=("evidence gaps: " + "; ".join(gaps))[:500] if gaps else None,
            evidence_gaps=gaps,
            timings=dict(self.timings),
        )


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
    settings: RcaSettings,
    services: Sequence[str] | None,
    window: TimeWindow,
    change_hint: datetime | None = None,
    timings: dict[str, int] | None = None,
    expand: bool = True,
) -> EvidenceBundle:
    """Run the three tools concurrently over the window (plus the baseline lookback) and bundle the result.

    Named services are widened to what they call (`expand`) unless the caller has done so already.
    Each backend gets `settings.backend_budget_s` for all its requests together.
    """
    timings = {} if timings is None else timings
    gaps: list[EvidenceGap] = []
    budget = settings.backend_budget_s
    start = window.start.timestamp() - settings.baseline_lookback_s
    end = window.end.timestamp()
    jaeger, loki, prometheus = JaegerClient(client), LokiClient(client), PrometheusClient(client)
    scope: list[str] | None = sorted(services) if services else None
    if scope and expand and client.configured(Backend.JAEGER):
        graph = await _guarded("jaeger", call_graph(jaeger, scope, start, end), gaps)
        scope = expand_scope(scope, sorted(graph.edges) if graph else [])
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
        gaps=gaps,
        sources=sources,
        change_hint=change_hint.timestamp() if change_hint else None,
    )


async def analyse(
    client: ReadOnlyClient,
    settings: RcaSettings,
    services: Sequence[str] | None,
    window: TimeWindow,
    change_hint: datetime | None = None,
) -> Analysis:
    """Collect evidence about `services` (the whole estate when empty) in `window`, and rank it."""
    timings: dict[str, int] = {}
    began = time.perf_counter()
    bundle = await collect_evidence(client, settings, services, window, change_hint, timings)
    collected = time.perf_counter()
    ranking = rank_candidates(bundle)
    timings["collect_ms"] = int((collected - began) * 1000)
    timings["rank_ms"] = int((time.perf_counter() - collected) * 1000)
    timings["total_ms"] = int((time.perf_counter() - began) * 1000)
    return Analysis(bundle, ranking, timings)
