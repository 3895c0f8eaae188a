"""Model calls are bounded and honest: output capped, each turn and the whole step within their
timeouts, tools offered only where the model takes them, the configured models checked at start-up
(readiness warning and metric), and every fallback logged and counted with its cause."""

import asyncio
import time

import httpx
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from aegis.devkit.fakes.llm import Failure, Garbage, Hang, Reply, ScriptedLlm, report
from aegis.devkit.harness.ports import reserved_socket
from aegis.rca_worker.llm.availability import check_models
from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.service.app import make_app
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.analysing import analyse_with, llm_settings, submitted
from tests.worker.asking import Backends
from tests.worker.conftest import running, worker_settings

GOOD = report("payment throws NPE.", [("payment", "NPE in payment", 0.9, ["E1", "E2"])])


async def test_every_turn_asks_for_at_most_llm_max_output_tokens(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """Ollama gets options.num_predict, the OpenAI-compatible API max_completion_tokens."""
    llm.script(submitted(GOOD), submitted(GOOD))
    await analyse_with(llm, backends, incident, "qwen", llm_max_output_tokens=300)
    await analyse_with(llm, backends, incident, "doubao", llm_max_output_tokens=300)
    ollama, openai = llm.seen
    assert ollama.body["options"]["num_predict"] == 300
    assert openai.body["max_completion_tokens"] == 300


async def test_a_turn_past_llm_step_timeout_s_ends_the_step_early(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """A hanging turn is cut at LLM_STEP_TIMEOUT_S, well before LLM_TIMEOUT_S, and the card says which."""
    for model in ("qwen", "doubao"):
        llm.script(Hang(30.0))
        began = time.monotonic()
        state = await analyse_with(llm, backends, incident, model, llm_timeout_s=20.0, llm_step_timeout_s=1.0)
        assert time.monotonic() - began < 10.0  # half llm_timeout_s: cut by the step bound
        result = state["result"]
        assert result.degraded
        assert "one model turn took longer than 1s" in (result.degraded_reason or "")
        assert result.root_causes[0].service == "payment"


async def test_llm_tools_off_asks_for_a_json_answer_without_tools(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """With LLM_TOOLS=off no tool is offered and the text rules are in the system prompt."""
    llm.script(Reply(content=str(GOOD).replace("'", '"')))
    result = (await analyse_with(llm, backends, incident, "doubao", llm_tools="off"))["result"]
    assert llm.seen[0].tool_names == []
    assert "You have no tools" in llm.seen[0].text()
    assert not result.degraded, result.degraded_reason


async def test_a_model_that_refuses_or_ignores_tools_is_not_offered_them_again(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """Ollama's 400 "does not support tools" (the fake's model lacks the capability) is remembered."""
    llm.models["qwen2.5:32b"] = ("completion",)
    models = ChatModels(llm_settings(llm, backends))
    llm.script(Reply(content=str(GOOD).replace("'", '"')), Reply(content=str(GOOD).replace("'", '"')))
    first = (await analyse_with(llm, backends, incident, "qwen", models=models))["result"]
    second = (await analyse_with(llm, backends, incident, "qwen", models=models))["result"]
    assert [bool(seen.tool_names) for seen in llm.seen] == [True, False, False]
    assert llm.seen[1].body["stream"] is True
    assert not first.degraded
    assert not second.degraded


async def test_start_up_checks_that_each_configured_model_exists(
    llm: ScriptedLlm, backends: Backends, http: httpx.AsyncClient
) -> None:
    """Ollama's /api/tags and /api/show, the OpenAI-style /v1/models: found, missing, unreachable."""
    llm.models["qwen2.5:32b"] = ("completion",)
    settings = llm_settings(llm, backends, doubao_model="doubao-typo")
    models = ChatModels(settings)
    checks = {c.alias: c for c in await check_models(http, settings, models)}
    assert checks["qwen"].available is True
    assert checks["qwen"].tools is False
    assert models.get("qwen")[0].tools is False  # Ollama says it has no tools: answered in text
    assert checks["deepseek"].available is True
    assert checks["doubao"].available is False
    assert "not among the" in (checks["doubao"].warning() or "")
    with reserved_socket() as unused:  # bound, never listening: nothing else can serve there meanwhile
        ollama = f"http://127.0.0.1:{unused.getsockname()[1]}"
        down = llm_settings(llm, backends, ollama_base_url=ollama, ollama_model="x")
        (unreachable, *_) = await check_models(http, down, ChatModels(down))
    assert unreachable.available is False
    assert "unreachable" in unreachable.detail


async def test_a_missing_default_model_is_a_readiness_warning_and_a_metric(
    nats_url: str, llm: ScriptedLlm, backends: Backends
) -> None:
    """/readyz stays 200 (answers are still given) but names the missing model; the gauge reads 0."""
    settings = worker_settings(
        nats_url,
        backends,
        default_model="qwen",
        ollama_base_url=llm.ollama_url,
        ollama_model="qwen3:235b",
    )
    async with running(make_app(settings)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            deadline = time.monotonic() + 10
            while (ready := await client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                await asyncio.sleep(0.1)
            metrics = (await client.get("/metrics")).text
    assert ready.status_code == 200
    assert ready.json()["warnings"] == ["model qwen (qwen3:235b): not pulled (ollama pull qwen3:235b)"]
    assert 'aegis_rca_llm_model_available{model="qwen"} 0.0' in metrics


async def test_a_fallback_is_logged_and_counted_with_its_cause(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """A broken answer, a model that is not there and a timeout: each logged with why and counted."""

    def count(cause: str) -> float:
        labels = {"model": "doubao", "cause": cause}
        return REGISTRY.get_sample_value("aegis_rca_llm_fallbacks_total", labels) or 0.0

    before = {cause: count(cause) for cause in ("error", "unavailable", "timeout")}
    llm.script(Garbage(), Hang(30.0))
    with capture_logs() as logs:
        await analyse_with(llm, backends, incident, "doubao")
        await analyse_with(llm, backends, incident, "doubao", doubao_model="doubao-typo")
        await analyse_with(llm, backends, incident, "doubao", llm_step_timeout_s=0.5)
        await analyse_with(llm, backends, incident, "doubao", doubao_api_key=None)
    fallbacks = [line for line in logs if line["event"] == "llm fallback"]
    assert [line["cause"] for line in fallbacks] == ["error", "error", "timeout", "unavailable"]
    assert "does not exist" in fallbacks[1]["reason"]
    assert count("error") - before["error"] == 2
    assert count("timeout") - before["timeout"] == 1
    assert count("unavailable") - before["unavailable"] == 1


async def test_no_answer_waits_longer_than_llm_timeout_s_plus_five_seconds(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """Turns that each stay under the step timeout but add up past LLM_TIMEOUT_S are cut at it."""
    promql = 'rate(http_requests_total{service="payment"}[1m])'
    look = Reply(tool_calls=(("query_prometheus", {"promql": promql}),))
    llm.script(look, look, look, Failure(500, "never reached"))
    began = time.monotonic()
    state = await analyse_with(llm, backends, incident, "qwen", llm_timeout_s=1.0, llm_step_timeout_s=1.0)
    assert time.monotonic() - began < 1.0 + 5.0
    assert state["result"].root_causes[0].service == "payment"
