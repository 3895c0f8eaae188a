"""`aegis eval --model ALIAS`: does the configured model make the answer better on these cases?

Each case runs through the whole analysis graph twice, as the worker would answer it: once with model
`none` (the deterministic ranking) and once with ALIAS, configured exactly as the worker is (the same
environment: OLLAMA_BASE_URL, DOUBAO_*, LLM_*). It reports AC@1 and AC@3 of the candidates the asker
would see with and without the model, and how often the model's report was used as it came, used
after the evidence floor or the guard repaired it (dropped evidence or services, rewritten claims,
a schema repair turn), or rejected (the answer fell back to the ranking) and why — the figures a
team needs to choose between qwen, glm, deepseek and doubao on its own cases.
"""

import asyncio
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.pipeline.context import StepStatus
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.questions import ModelAlias
from aegis.shared.rca import AnalysisStep, RcaResult
from aegis.simulator.offline import answer_offline, offline_settings
from aegis.simulator.scenarios import Scenario
from aegis.simulator.scoring import accuracy, hit_ranks
from aegis.simulator.telemetry import ScenarioTelemetry

CAUSES = ("refused", "timeout", "error", "unavailable")


@dataclass
class StepCounts:
    """The counts the reason and guard steps report (what the service publishes as progress)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    async def __call__(
        self, step: AnalysisStep, status: StepStatus, message: str = "", counts: dict[str, int] | None = None
    ) -> None:
        if status != "started":
            self.counts[step] = dict(counts or {})


@dataclass(frozen=True)
class ModelOutcome:
    """One case: where the truth sat without and with the model, and what became of its report."""

    case_id: str
    without: int | None
    with_model: int | None
    fate: str  # "used", "repaired" or one of CAUSES
    seconds: float


def _candidates(result: RcaResult) -> list[str]:
    return [c.service for c in result.root_causes]


def _cause(reason: str) -> str:
    if "unusable answer" in reason:
        return "refused"
    if "took longer" in reason or "did not answer within" in reason:
        return "timeout"
    if "not configured" in reason or "no LLM" in reason:
        return "unavailable"
    return "error"


async def evaluate_case(
    scenario: Scenario, settings: WorkerSettings, models: ChatModels, alias: ModelAlias
) -> ModelOutcome:
    """Both answers to one case, scored, and the fate of the model's report."""
    telemetry = ScenarioTelemetry(scenario)
    plain = await answer_offline(telemetry, settings)
    steps = StepCounts()
    asked = await answer_offline(telemetry, settings, alias, models, steps)
    result = asked["result"]
    reason, guard = steps.counts.get("reason", {}), steps.counts.get("guard", {})
    if asked.get("degraded"):
        fate = _cause(asked["degraded"][0])
    elif reason.get("dropped") or reason.get("repaired") or guard.get("notes"):
        fate = "repaired"
    else:
        fate = "used"
    return ModelOutcome(
        scenario.case_id,
        hit_ranks(_candidates(plain["result"]), scenario.root),
        hit_ranks(_candidates(result), scenario.root),
        fate,
        result.timings.get("reason_ms", 0) / 1000,
    )


def summarise(alias: ModelAlias, model: str, outcomes: list[ModelOutcome]) -> dict[str, Any]:
    """The `--json` object of `aegis eval --model`."""
    n = max(len(outcomes), 1)
    fates = Counter(o.fate for o in outcomes)

    def top(positions: list[int | None]) -> dict[str, float]:
        scores = accuracy(positions)
        return {"ac@1": scores["ac@1"], "ac@3": scores["ac@3"]}

    return {
        "model": alias,
        "model_name": model,
        "cases": len(outcomes),
        "without_model": top([o.without for o in outcomes]),
        "with_model": top([o.with_model for o in outcomes]),
        "report_used": round(fates["used"] / n, 4),
        "report_repaired": round(fates["repaired"] / n, 4),
        "report_rejected": round(sum(fates[c] for c in CAUSES) / n, 4),
        "rejected_by_cause": {cause: fates[cause] for cause in CAUSES},
        "mean_model_seconds": round(sum(o.seconds for o in outcomes) / n, 2),
    }


def render(summary: dict[str, Any]) -> str:
    """The human-readable report."""
    without, with_model = summary["without_model"], summary["with_model"]
    causes = ", ".join(f"{k} {v}" for k, v in summary["rejected_by_cause"].items() if v) or "none"
    return "\n".join(
        [
            f"model {summary['model']} ({summary['model_name']}), {summary['cases']} cases",
            f"{'':22} {'AC@1':>6} {'AC@3':>6}",
            f"{'without the model':22} {without['ac@1']:>6.3f} {without['ac@3']:>6.3f}",
            f"{'with the model':22} {with_model['ac@1']:>6.3f} {with_model['ac@3']:>6.3f}",
            f"report used as written {summary['report_used']:.1%}, repaired by the guard "
            f"{summary['report_repaired']:.1%}, rejected {summary['report_rejected']:.1%} ({causes})",
            f"mean time in the model step {summary['mean_model_seconds']:.1f}s",
        ]
    )


def run_model_eval(alias: ModelAlias, scenarios: list[Scenario], as_json: bool, out: TextIO) -> int:
    """Evaluate `alias` on `scenarios`, one at a time (a model server is the bottleneck); 2 if unusable."""
    settings = offline_settings()
    missing = settings.missing_for(alias)
    if alias == "none" or missing:
        why = "is the deterministic ranking itself" if alias == "none" else f"needs {', '.join(missing)}"
        print(f"--model: {alias} {why}", file=sys.stderr)
        return 2
    models = ChatModels(settings)
    model = models.get(alias)[0].model

    async def all_cases() -> list[ModelOutcome]:
        return [await evaluate_case(s, settings, models, alias) for s in scenarios]

    summary = summarise(alias, model, asyncio.run(all_cases()))
    print(json.dumps(summary) if as_json else render(summary), file=out)
    return 0
