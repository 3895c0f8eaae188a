"""scope: which services, which window, which model — from the question, its words and its conversation.

Users name where they see the symptom, so named services are widened to everything they call; the
call graph fetched for that is kept in the state for the collect step, which does not ask again.
"""

from collections.abc import Sequence

from aegis.rca_worker.backends.jaeger import JaegerClient
from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.pipeline.steps import StepOutcome
from aegis.rca_worker.scoping import ResolvedScope, resolve_scope
from aegis.rca_worker.sessions import SessionScope
from aegis.rca_worker.tools.call_graph import CallGraph, call_graph
from aegis.shared.messages import message
from aegis.shared.settings import Locale


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


async def _call_graph(
    context: AnalysisContext, named: list[str], end: float, lookback_s: float
) -> CallGraph | None:
    """The call graph around `named`, from Jaeger's dependencies or its traces (None: no Jaeger)."""
    if not context.client.configured(Backend.JAEGER):
        return None
    try:
        return await call_graph(JaegerClient(context.client), named, end - lookback_s, end)
    except BackendUnavailable:
        return None


def describe(resolved: ResolvedScope, services: list[str] | None, locale: Locale) -> str:
    """One line for the asker: what is analysed, over how long, with which model."""
    minutes = round((resolved.window.end - resolved.window.start).total_seconds() / 60)
    named = ", ".join(resolved.named)
    extra = len(services or []) - len(resolved.named)
    if not named:
        what = message(locale, "scope.every_service")
    else:
        what = message(locale, "scope.with_callees", named=named, extra=extra) if extra > 0 else named
    memo = message(locale, "scope.follow_up") if resolved.follow_up else ""
    return message(locale, "scope.line", what=what, minutes=minutes, model=resolved.model, memo=memo)


async def scope(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Resolve the scope, widen named services to their callees, and remember it for follow-ups."""
    question = state["question"]
    settings = context.settings
    key = question.conversation_key
    previous = await context.memory.recall(key) if context.memory and key else None
    start = question.window.start.timestamp() - settings.baseline_lookback_s
    end = question.window.end.timestamp()
    known = (
        await context.directory.known(context.client, settings, start, end)
        if question.text.strip()
        else set()
    )
    resolved = resolve_scope(question, known, previous, settings.default_model)
    services: list[str] | None = None
    graph: CallGraph | None = None
    if resolved.named:
        window_end = resolved.window.end.timestamp()
        lookback = window_end - resolved.window.start.timestamp() + settings.baseline_lookback_s
        graph = await _call_graph(context, resolved.named, window_end, lookback)
        edges = sorted(graph.edges) if graph is not None else []
        services = expand_scope(resolved.named, edges) if edges else list(resolved.named)
    if context.memory and key:
        window_s = (resolved.window.end - resolved.window.start).total_seconds()
        await context.memory.remember(
            key,
            SessionScope(
                services=resolved.named,
                window_s=window_s,
                model=resolved.model,
                request_id=question.request_id,
            ),
        )
    return StepOutcome(
        {"scope": resolved, "services": services, "graph": graph, "model": resolved.model},
        describe(resolved, services, settings.locale),
        {"services": len(services or [])},
    )
