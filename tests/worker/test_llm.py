"""The LLM step with the real langchain-ollama and langchain-openai clients against loopback fakes:
every scripted behaviour ends in a valid result, degraded (deterministic, with the reason) where
the model failed."""

import json
import time

import pytest

from aegis.devkit.fakes.llm import Failure, Garbage, Hang, Reply, ScriptedLlm, Turn, report
from aegis.shared.questions import ModelAlias
from aegis.shared.rca import RcaResult
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.analysing import analyse_with, submitted
from tests.worker.asking import Backends

GOOD = report(
    "payment throws NullPointerException since the change; its callers only suffer from it.",
    [
        (
            "payment",
            "Unhandled exceptions in payment.Handler.process (E2) and failing traces (E3).",
            0.9,
            ["E1", "E2"],
        )
    ],
    ["A human should check payment's most recent deploy"],
)


CASES: list[tuple[str, ModelAlias, list[Turn], str | None]] = [
    ("ollama tool call", "qwen", [submitted(GOOD)], None),
    ("ollama JSON in a code fence", "glm", [Reply(content=f"Here:\n```json\n{json.dumps(GOOD)}\n```")], None),
    (
        "deepseek <think> then JSON",
        "deepseek",
        [Reply(content=f"<think>payment? no, wait…</think>\n{json.dumps(GOOD)}")],
        None,
    ),
    (
        "tools refused, then text",
        "qwen",
        [Failure(400, "qwen2.5:32b does not support tools"), Reply(content=json.dumps(GOOD))],
        None,
    ),
    ("openai tool call", "doubao", [submitted(GOOD)], None),
    ("openai JSON content", "doubao", [Reply(content=json.dumps(GOOD))], None),
    (
        "ollama prose, no report",
        "qwen",
        [Reply(content="Probably the database. Hard to say."), Reply(content="Still no idea.")],
        "unusable answer",
    ),
    (
        "ollama report naming no real service",
        "qwen",
        [submitted(report("x", [("mainframe", "h", 0.9, ["E1"])]))],
        "unusable answer",
    ),
    ("ollama answers HTML", "qwen", [Garbage()], "failed"),
    ("openai answers HTML", "doubao", [Garbage()], "failed"),
    ("openai server error", "doubao", [Failure(500, "internal")], "failed"),
]


@pytest.mark.parametrize(("case", "model", "turns", "degraded"), CASES, ids=[c[0] for c in CASES])
async def test_each_scripted_behaviour_ends_in_a_valid_result(
    case: str,
    model: ModelAlias,
    turns: list[Turn],
    degraded: str | None,
    llm: ScriptedLlm,
    backends: Backends,
    incident: ScenarioTelemetry,
) -> None:
    """A usable report becomes the answer (model named); else the deterministic one, degraded."""
    llm.script(*turns)
    result = (await analyse_with(llm, backends, incident, model))["result"]
    RcaResult.model_validate(result.model_dump())
    assert result.root_causes[0].service == "payment"
    if degraded is None:
        assert result.model == model
        assert not result.degraded, result.degraded_reason
        assert result.summary == GOOD["summary"]
        assert "<think>" not in result.summary
        assert [e.kind for e in result.root_causes[0].evidence] == ["metric", "log"]
    else:
        assert result.model == "none"
        assert result.degraded
        assert degraded in (result.degraded_reason or "")
        assert "showing the deterministic analysis" in (result.degraded_reason or "")


async def test_the_model_drills_down_with_read_only_tools_and_cites_what_it_found(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """A PromQL call runs against Prometheus and comes back citeable as T1; an invented E99 is dropped."""
    promql = 'sum by (service) (rate(http_requests_total{service="payment"}[1m]))'
    final = report(
        "payment fails; checkout follows.",
        [("payment", "errors rose (T1)", 0.9, ["T1", "E1"]), ("checkout", "caller", 0.2, ["E99"])],
    )
    llm.script(Reply(tool_calls=(("query_prometheus", {"promql": promql}),)), submitted(final))
    state = await analyse_with(llm, backends, incident, "qwen")
    result = state["result"]
    first, second = llm.seen
    assert first.body["model"] == "qwen2.5:32b"
    assert first.body["stream"] is False  # tool calls are asked for unstreamed (older Ollama)
    assert first.tool_names == ["query_prometheus", "search_logs", "get_trace", "submit_report"]
    tool_answer = next(m for m in second.messages if m["role"] == "tool")
    assert tool_answer["content"].startswith("T1 (cite as T1): 1 series\n{service=payment} before change:")
    assert result.model == "qwen"
    assert not result.degraded
    assert result.root_causes[0].evidence[0].query == promql
    assert any("'E99' does not exist" in note for note in state["guard_notes"])
    assert backends.writes() == []


async def test_a_model_that_hangs_past_the_timeout_leaves_the_deterministic_answer(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """Ollama and the OpenAI API hanging: answered within LLM_TIMEOUT_S (+ margin), degraded, with why."""
    for model in ("qwen", "doubao"):
        llm.script(Hang(30.0), Hang(30.0))
        began = time.monotonic()
        result = (await analyse_with(llm, backends, incident, model, llm_timeout_s=1.0))["result"]
        assert time.monotonic() - began < 15.0  # half the hang: the bound cut it, with room for a busy CI
        assert result.degraded
        assert result.model == "none"
        assert "did not answer within 1s" in (result.degraded_reason or "")
        assert result.root_causes[0].service == "payment"


async def test_the_question_model_overrides_the_default_and_unconfigured_ones_degrade(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """`model=deepseek` reaches Ollama as deepseek-r1:32b, no tools; doubao without settings names them."""
    llm.script(Reply(content=json.dumps(GOOD)))
    await analyse_with(llm, backends, incident, "deepseek", default_model="qwen", ollama_model="qwen2.5:7b")
    assert llm.seen[0].body["model"] == "deepseek-r1:32b"
    assert llm.seen[0].body["stream"] is True  # no tools: the answer streams
    assert llm.seen[0].tool_names == []
    result = (await analyse_with(llm, backends, incident, "doubao", doubao_base_url=None))["result"]
    assert result.degraded
    assert "DOUBAO_BASE_URL" in (result.degraded_reason or "")
    assert len(llm.seen) == 1


async def test_an_openai_compatible_provider_gets_the_key_and_the_model_id(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """Doubao requests carry `Authorization: Bearer <key>`, the configured model id and the tools."""
    llm.script(submitted(GOOD))
    await analyse_with(llm, backends, incident, "doubao")
    seen = llm.seen[0]
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["authorization"] == "Bearer test-key"
    assert seen.body["model"] == "doubao-seed-1-6"
    assert "submit_report" in seen.tool_names
