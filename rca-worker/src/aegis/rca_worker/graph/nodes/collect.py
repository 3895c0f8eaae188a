"""collect: the three backends at once, each bounded in time; what fails becomes a recorded gap."""

from aegis.rca_worker.analysis import collect_evidence
from aegis.rca_worker.graph.context import AnalysisContext
from aegis.rca_worker.graph.state import AnalysisState
from aegis.rca_worker.graph.steps import StepOutcome


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
    zh = context.settings.locale == "zh"
    message = (
        f"{counts['series']} 条指标、{counts['log_templates']} 类日志、{counts['trace_origins']} 条出错 trace"
        if zh
        else f"{counts['series']} series, {counts['log_templates']} log templates, "
        f"{counts['trace_origins']} failing traces"
    )
    if bundle.gaps:
        message += f"；缺失 {len(bundle.gaps)} 项" if zh else f"; {len(bundle.gaps)} gaps"
    return StepOutcome({"bundle": bundle, "timings": timings}, message, counts)
