"""The LLM path against a real model: SmolLM2-135M served by llama.cpp's OpenAI-compatible server,
through the Doubao route and the real langchain-openai client. A model this small writes poor
answers, which is the point: whatever it writes, the asker gets the right root cause in time, and
a report the evidence does not carry is answered as the deterministic one, saying why."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from aegis.devkit.harness.llama_server import ALIAS, LlamaServer, llama_server
from aegis.rca_worker.llm import prompting
from aegis.rca_worker.llm.availability import check_models
from aegis.rca_worker.llm.digest import build_digest, estimate_tokens
from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.service.app import make_app
from aegis.rca_worker.settings import WorkerSettings
from aegis.simulator.offline import analyse_offline
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, answer_to, ask, question
from tests.worker.conftest import backends, prometheus_loopback, running, worker_settings  # noqa: F401
from tests.worker.incident import incident, jaeger_fake, loki_fake  # noqa: F401

TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One llama-server for the module."""
    with llama_server(tmp_path_factory.mktemp("llama")) as server:
        yield server


def _doubao(server: LlamaServer) -> dict[str, Any]:
    return {
        "default_model": "doubao",
        "doubao_base_url": server.openai_url,
        "doubao_api_key": "not-checked-by-llama-server",
        "doubao_model": ALIAS,
        "llm_timeout_s": TIMEOUT_S,
        "llm_step_timeout_s": 55.0,
        "llm_max_digest_tokens": 1000,
        "llm_max_output_tokens": 200,
        "llm_tools": "off",  # a 135M model takes no tools; the text prompt is also shorter
    }


async def test_a_question_through_the_doubao_route_gets_the_right_root_cause_in_time(
    smollm2: LlamaServer,
    nats_url: str,
    nats_client: Client,
    backends: Backends,  # noqa: F811
    incident: ScenarioTelemetry,  # noqa: F811
) -> None:
    """payment first, within LLM_TIMEOUT_S + 5 s; SmolLM2's report is refused: deterministic, with why."""
    settings = worker_settings(nats_url, backends, **_doubao(smollm2), rca_analysis_timeout_s=150.0)
    async with running(make_app(settings)):
        event = question(incident, "payment 5xx went up, why?")
        began = time.monotonic()
        await ask(nats_client, event)
        result = await answer_to(nats_client, event.request_id, timeout=TIMEOUT_S + 30)
        took = time.monotonic() - began
    assert result.root_causes[0].service == "payment"
    assert took < TIMEOUT_S + 5 + 10  # the evidence collection before the model is the +10
    assert result.timings.get("reason_ms", 0) / 1000 < TIMEOUT_S + 5
    assert result.degraded, result.model_contribution
    assert result.model == "none"
    assert f"doubao ({ALIAS})" in (result.degraded_reason or "")
    assert "showing the deterministic analysis" in (result.degraded_reason or "")


async def test_start_up_finds_the_served_model_and_misses_a_typo(
    smollm2: LlamaServer,
    backends: Backends,  # noqa: F811
) -> None:
    """llama-server's real /v1/models lists `smollm2`; a misspelt DOUBAO_MODEL is reported missing."""
    async with httpx.AsyncClient() as http:
        for model, available in ((ALIAS, True), ("smollm3", False)):
            settings = WorkerSettings(**{**backends.urls(), **_doubao(smollm2), "doubao_model": model})
            (check,) = [
                c for c in await check_models(http, settings, ChatModels(settings)) if c.alias == "doubao"
            ]
            assert check.available is available, check.detail


def test_the_token_estimate_never_reads_low_against_a_real_tokenizer(smollm2: LlamaServer) -> None:
    """Digests of five scenarios and both system prompts: estimate / real between 0.95 and 1.3."""
    texts = [prompting.system_prompt("zh", True, 3), prompting.system_prompt("en", False, 3)]
    for fault, root in (
        ("exception", "payment"),
        ("delay", "cart"),
        ("cpu", "checkout"),
        ("mem", "currency"),
        ("loss", "shipping"),
    ):
        analysis = asyncio.run(analyse_offline(ScenarioTelemetry(make_scenario(fault, root, 2))))
        texts.append(build_digest(analysis.bundle, analysis.ranking, [root], {"alertname": "X"}, 6000).text)
    ratios = [estimate_tokens(text) / smollm2.tokens(text) for text in texts]
    assert all(0.95 <= ratio <= 1.3 for ratio in ratios), [f"{r:.2f}" for r in ratios]
