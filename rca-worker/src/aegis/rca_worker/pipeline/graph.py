"""`make_graph`: the one analysis pipeline — run by the service, `aegis eval`, the demo and the tests.

scope → collect → rank → (reason, when a model is asked for) → guard. Recorded evidence enters at
rank. The graph is compiled once per process; each run brings its own `AnalysisContext`.
"""

import time
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from aegis.rca_worker.backends.readonly import ReadOnlyClient
from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.pipeline.collect import collect
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.guard import guard
from aegis.rca_worker.pipeline.rank import Analysis, rank
from aegis.rca_worker.pipeline.reason import reason
from aegis.rca_worker.pipeline.scope import scope
from aegis.rca_worker.pipeline.state import AnalysisInput, AnalysisState
from aegis.rca_worker.pipeline.steps import reporting
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.questions import QuestionEvent, TimeWindow

# Five steps at most; anything near the limit is a loop that must stop.
RECURSION_LIMIT = 12

AnalysisGraph = CompiledStateGraph[AnalysisState, AnalysisContext, AnalysisInput, AnalysisState]


def start_at(state: AnalysisState) -> Literal["scope", "rank"]:
    """Recorded evidence goes straight to ranking; a live question starts by finding its scope."""
    return "rank" if state.get("bundle") is not None else "scope"


def after_rank(state: AnalysisState) -> Literal["reason", "guard"]:
    """The LLM step runs only when the question's model is not `none`."""
    return "guard" if state.get("model", "none") == "none" else "reason"


def make_graph() -> AnalysisGraph:
    """The compiled analysis graph."""
    builder = StateGraph(AnalysisState, context_schema=AnalysisContext, input_schema=AnalysisInput)
    builder.add_node("scope", reporting("scope", scope))
    builder.add_node("collect", reporting("collect", collect))
    builder.add_node("rank", reporting("rank", rank))
    builder.add_node("reason", reporting("reason", reason))
    builder.add_node("guard", reporting("guard", guard))
    builder.add_conditional_edges(START, start_at, ["scope", "rank"])
    builder.add_edge("scope", "collect")
    builder.add_edge("collect", "rank")
    builder.add_conditional_edges("rank", after_rank, ["reason", "guard"])
    builder.add_edge("reason", "guard")
    builder.add_edge("guard", END)
    return builder.compile(name="aegis-rca")


async def run_analysis(
    graph: AnalysisGraph,
    question: QuestionEvent,
    context: AnalysisContext,
    bundle: EvidenceBundle | None = None,
) -> AnalysisState:
    """Run the graph for `question` (on `bundle` if the evidence is already there); the result's
    timings hold every step's duration and the total."""
    began = time.perf_counter()
    given: dict[str, Any] = {"question": question}
    if bundle is not None:
        given["bundle"] = bundle
    state = cast(
        AnalysisState,
        await graph.ainvoke(
            cast(AnalysisInput, given), context=context, config={"recursion_limit": RECURSION_LIMIT}
        ),
    )
    timings = {**state.get("timings", {}), "total_ms": int((time.perf_counter() - began) * 1000)}
    state["result"] = state["result"].model_copy(update={"timings": timings})
    return state


@cache
def shared_graph() -> AnalysisGraph:
    """The graph, compiled once per process."""
    return make_graph()


async def analyse(
    client: ReadOnlyClient,
    settings: WorkerSettings,
    services: Sequence[str] | None,
    window: TimeWindow,
    request_id: str = "analysis",
) -> Analysis:
    """The deterministic pipeline (model `none`) over `services` (the whole estate when empty) in `window`."""
    question = QuestionEvent(
        request_id=request_id,
        source="cli",
        text="",
        services=list(services or []),
        window=window,
        model="none",
    )
    state = await run_analysis(shared_graph(), question, AnalysisContext(client, settings))
    return Analysis(state["bundle"], state["ranking"], dict(state["result"].timings))
