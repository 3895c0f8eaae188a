"""rank: the deterministic ranking and the answer it alone gives (the draft the LLM may improve)."""

import asyncio

from aegis.rca_worker.analysis import Analysis
from aegis.rca_worker.graph.context import AnalysisContext
from aegis.rca_worker.graph.state import AnalysisState
from aegis.rca_worker.graph.steps import StepOutcome
from aegis.rca_worker.ranking.candidates import rank_candidates


async def rank(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Rank every service of the evidence; draft the deterministic answer from the top three."""
    question = state["question"]
    bundle = state["bundle"]
    # Pure but CPU-bound on a large estate: off the event loop, so heartbeats keep flowing.
    ranking = await asyncio.to_thread(rank_candidates, bundle)
    draft = Analysis(bundle, ranking).to_result(
        question.request_id, question.source, question.reply_to, context.settings.locale
    )
    top = ", ".join(c.service for c in draft.root_causes) or "-"
    return StepOutcome(
        {
            "ranking": ranking,
            "draft": draft,
            "model": state.get("model") or question.model or "none",
            "collected": [e for c in draft.root_causes for e in c.evidence],
        },
        top,
        {"candidates": len(draft.root_causes)},
    )
