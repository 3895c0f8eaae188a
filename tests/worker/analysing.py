"""Running one analysis through the graph in the test's loop, the LLM providers pointing at the fake."""

from typing import Any

import httpx

from aegis.devkit.fakes.llm import Reply, ScriptedLlm
from aegis.rca_worker.backends.readonly import ReadOnlyClient, endpoints_from_settings
from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.graph import make_graph, run_analysis
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.questions import ModelAlias
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, question


async def analyse_with(
    llm: ScriptedLlm,
    backends: Backends,
    incident: ScenarioTelemetry,
    model: ModelAlias,
    text: str = "payment 5xx went up, why?",
    alert_labels: dict[str, str] | None = None,
    models: ChatModels | None = None,
    **overrides: Any,
) -> AnalysisState:
    """One analysis through the graph, providers pointing at the fake; `overrides` are settings."""
    settings = llm_settings(llm, backends, **overrides)
    event = question(incident, text, model=model, alert_labels=alert_labels or {})
    async with httpx.AsyncClient() as http:
        client = ReadOnlyClient(http, endpoints_from_settings(settings))
        context = AnalysisContext(client, settings, models=models or ChatModels(settings))
        return await run_analysis(make_graph(), event, context)


def llm_settings(llm: ScriptedLlm, backends: Backends, **overrides: Any) -> WorkerSettings:
    """Worker settings with the backends and both LLM routes pointing at the fakes."""
    values: dict[str, Any] = {
        **backends.urls(),
        "baseline_lookback_s": 0.0,
        "ollama_base_url": llm.ollama_url,
        "doubao_base_url": llm.openai_url,
        "doubao_api_key": "test-key",
        "doubao_model": "doubao-seed-1-6",
        "llm_timeout_s": 5.0,
        "locale": "en",
        **overrides,
    }
    return WorkerSettings(**values)


def submitted(body: dict[str, Any]) -> Reply:
    """A tool call submitting `body` as the report."""
    return Reply(tool_calls=(("submit_report", body),))
