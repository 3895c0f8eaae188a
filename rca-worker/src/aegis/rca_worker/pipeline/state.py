"""What flows through the analysis pipeline: a narrow input, and the full state the nodes fill in.

The input is a question, and optionally evidence already gathered (a recorded case), which skips
scope and collect. Each node returns only the keys it sets; timings and degradation reasons
accumulate across nodes.
"""

import operator
from typing import Annotated, NotRequired, Required, TypedDict

from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.ranking.candidates import Ranking
from aegis.rca_worker.scoping import ResolvedScope
from aegis.rca_worker.tools.call_graph import CallGraph
from aegis.shared.questions import ModelAlias, QuestionEvent
from aegis.shared.rca import Evidence, RcaResult


def merge_timings(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    """Reducer: later timings add to (and override) earlier ones."""
    return {**left, **right}


class AnalysisInput(TypedDict, total=False):
    """What a caller gives the graph."""

    question: Required[QuestionEvent]
    bundle: NotRequired[EvidenceBundle]


class AnalysisState(AnalysisInput, total=False):
    """Everything the nodes know by the end."""

    scope: ResolvedScope
    services: list[str] | None
    graph: CallGraph | None
    model: ModelAlias
    ranking: Ranking
    draft: RcaResult
    collected: Annotated[list[Evidence], operator.add]
    degraded: Annotated[list[str], operator.add]
    timings: Annotated[dict[str, int], merge_timings]
    guard_notes: list[str]
    result: RcaResult
