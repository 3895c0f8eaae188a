"""guard: the draft checked and made safe, whichever step wrote it; degradation made visible."""

from aegis.rca_worker.guard import guard_result
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.pipeline.steps import StepOutcome
from aegis.shared.messages import message


def _with_degradation(state: AnalysisState) -> tuple[str | None, bool]:
    reasons = [f"{r}; showing the deterministic analysis" for r in state.get("degraded", [])]
    draft = state["draft"]
    if draft.degraded_reason:
        reasons.append(draft.degraded_reason)
    return ("; ".join(reasons)[:1000] or None), bool(reasons)


async def guard(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Apply the guard to the draft; an LLM that failed leaves model `none` and the reason."""
    draft = state["draft"]
    reason, degraded = _with_degradation(state)
    if state.get("degraded"):
        draft = draft.model_copy(update={"model": "none", "model_contribution": None})
    draft = draft.model_copy(update={"degraded": degraded, "degraded_reason": reason})
    ranking = state["ranking"]
    services = set(state["bundle"].services) | {s.service for s in ranking.services}
    guarded = guard_result(draft, state.get("collected", []), services, context.settings.locale)
    notes = [*state.get("guard_notes", []), *guarded.notes]
    return StepOutcome(
        {"result": guarded.result, "guard_notes": notes},
        message(context.settings.locale, "guard.corrections", notes=len(notes)) if notes else "",
        {"rewritten": guarded.rewritten_claims, "notes": len(notes)},
    )
