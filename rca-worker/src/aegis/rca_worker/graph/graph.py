"""`make_graph`: the one analysis graph — used by the service, the tests and `aegis eval`.

scope → collect → rank → (reason, when a model is asked for) → guard. Recorded evidence enters at
rank. The graph is compiled once per process; each run brings its own `AnalysisContext`.
"""

import time
from typing import Any, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.graph.context import AnalysisContext
from aegis.rca_worker.graph.nodes.collect import collect
from aegis.rca_worker.graph.nodes.guard import guard
from aegis.rca_worker.graph.nodes.rank import rank
from aegis.rca_worker.graph.nodes.reason import reason
from aegis.rca_worker.graph.nodes.scope import scope
from aegis.rca_worker.graph.routing import after_rank, start_at
from aegis.rca_worker.graph.state import AnalysisInput, AnalysisState
from aegis.rca_worker.graph.steps import reporting
from aegis.shared.questions import QuestionEvent

# Five steps at most; anything near the limit is a loop that must stop.
RECURSION_LIMIT = 12

AnalysisGraph = CompiledStateGraph[AnalysisState, AnalysisContext, AnalysisInput, AnalysisState]


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
