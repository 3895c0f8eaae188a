"""Running the real analysis graph over a scenario without sockets: the fakes behind an `httpx.MockTransport`.

The benchmark goes through exactly the code a live analysis runs — the graph the service runs, with
the read-only client, the three tools, the ranking and the guard, model `none` — so its figures say
something about the product, not about a shortcut. Recorded evidence (RCAEval folders) enters the
same graph at its ranking step.
"""

from datetime import UTC, datetime

import httpx

from aegis.rca_worker.backends.readonly import ReadOnlyClient, endpoints_from_settings
from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.pipeline.context import AnalysisContext, ProgressReporter, no_progress
from aegis.rca_worker.pipeline.graph import run_analysis, shared_graph
from aegis.rca_worker.pipeline.rank import Analysis
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.questions import ModelAlias, QuestionEvent, TimeWindow
from aegis.simulator.fakes.http import mock_transport
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.fakes.loki import FakeLoki
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.telemetry import ScenarioTelemetry

HOSTS = {"prometheus": "prometheus.sim", "loki": "loki.sim", "jaeger": "jaeger.sim"}


def offline_settings() -> WorkerSettings:
    """Settings pointing at the in-process fakes, with no lookback (the scenario is the whole window)."""
    return WorkerSettings(
        prometheus_base_url=f"http://{HOSTS['prometheus']}",
        loki_base_url=f"http://{HOSTS['loki']}",
        jaeger_base_url=f"http://{HOSTS['jaeger']}",
        baseline_lookback_s=0.0,
        default_model="none",
    )


def scenario_window(telemetry: ScenarioTelemetry) -> TimeWindow:
    """The scenario's whole time range as an analysis window."""
    s = telemetry.scenario
    return TimeWindow(start=datetime.fromtimestamp(s.start, UTC), end=datetime.fromtimestamp(s.end + 1, UTC))


def _question(case_id: str, window: TimeWindow) -> QuestionEvent:
    request_id = "eval-" + "".join(c if c.isalnum() else "-" for c in case_id)[:50]
    return QuestionEvent(request_id=request_id, source="cli", text="", window=window, model="none")


async def analyse_offline(telemetry: ScenarioTelemetry, settings: WorkerSettings | None = None) -> Analysis:
    """The graph over the whole estate of one scenario, answered by the in-process fakes."""
    state = await answer_offline(telemetry, settings or offline_settings())
    return Analysis(state["bundle"], state["ranking"], dict(state["result"].timings))


async def answer_offline(
    telemetry: ScenarioTelemetry,
    settings: WorkerSettings,
    model: ModelAlias = "none",
    models: ChatModels | None = None,
    progress: ProgressReporter = no_progress,
) -> AnalysisState:
    """The graph's whole state for one scenario, asking `model` (`aegis eval --model`)."""
    transport = mock_transport(
        {
            HOSTS["prometheus"]: FakePrometheus(telemetry).handle,
            HOSTS["loki"]: FakeLoki(telemetry).handle,
            HOSTS["jaeger"]: FakeJaeger(telemetry).handle,
        }
    )
    async with httpx.AsyncClient(transport=transport) as http:
        client = ReadOnlyClient(http, endpoints_from_settings(settings), settings.evidence_concurrency)
        question = _question(telemetry.scenario.case_id, scenario_window(telemetry)).model_copy(
            update={"model": model}
        )
        context = AnalysisContext(client, settings, progress, models=models)
        return await run_analysis(shared_graph(), question, context)


async def rank_recorded(case_id: str, bundle: EvidenceBundle) -> Analysis:
    """The graph over evidence recorded elsewhere (an RCAEval case): it starts at the ranking."""
    settings = WorkerSettings(default_model="none")
    window = TimeWindow(
        start=datetime.fromtimestamp(bundle.start, UTC), end=datetime.fromtimestamp(bundle.end + 1, UTC)
    )
    async with httpx.AsyncClient() as http:
        context = AnalysisContext(ReadOnlyClient(http, {}), settings)
        state = await run_analysis(shared_graph(), _question(case_id, window), context, bundle)
    return Analysis(state["bundle"], state["ranking"], dict(state["result"].timings))
