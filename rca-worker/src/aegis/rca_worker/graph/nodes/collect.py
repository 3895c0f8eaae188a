"""collect: the three backends at once, each bounded in time; what fails becomes a recorded gap."""

from aegis.rca_worker.analysis import collect_evidence
from aegis.rca_worker.graph.context import AnalysisContext
from aegis.rca_worker.graph.state import AnalysisState
from aegis.rca_worker.graph.steps import StepOutcome
from aegis.shared.messages import message


async def collect(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Gather metrics, log templates and traces for the scope (already widened to callees)."""
    timings: dict[str, int] = {}
    bundle = await collect_evidence(
        context.client,
        context.settings,
        state.get("services"),
        state["scope"].window,
        timings=timings,
        expand=False,
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
