"""The HTTP analysis API: a question in, the worker's answer out (sync JSON or server-sent events)."""

import json
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import SecretStr

from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaProgress, RcaResult, RootCauseCandidate
from aegis.shared.subjects import progress_subject, result_subject
from tests.alert_ingest.conftest import SettingsFactory, make_settings, running_app

ASK = {"question": "payment 5xx 变多了，怎么回事？", "services": ["payment"], "model": "none"}


@pytest.fixture
async def stand_in_worker(nats_client: Client) -> AsyncIterator[list[QuestionEvent]]:
    """A peer answering on `aegis.question.api` the way rca-worker does: two steps, then a result."""
    asked: list[QuestionEvent] = []

    async def answer(msg: Msg) -> None:
        question = QuestionEvent.model_validate_json(msg.data)
        asked.append(question)
        for step in ("scope", "collect"):
            progress = RcaProgress(request_id=question.request_id, step=step, status="done")
            await nats_client.publish(
                progress_subject(question.request_id), progress.model_dump_json().encode()
            )
        result = RcaResult(
            request_id=question.request_id,
            source="api",
            summary="Most likely root cause: payment-db",
            root_causes=[
                RootCauseCandidate(rank=1, service="payment-db", hypothesis="pool exhausted", confidence=0.8)
            ],
            timings={"total_ms": 42},
        )
        await nats_client.publish(result_subject("api"), result.model_dump_json().encode())

    subscription = await nats_client.subscribe("aegis.question.api", cb=answer)
    yield asked
    await subscription.unsubscribe()


def events(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream."""
    found = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:  # a block of comments only is a keep-alive
            found.append((fields["event"], fields["data"]))
    return found


async def test_analyze_returns_the_workers_result(
    ingest_settings: SettingsFactory, stand_in_worker: list[QuestionEvent]
) -> None:
    """POST /api/ops/analyze publishes a QuestionEvent (default window 15 min) and answers its RcaResult."""
    async with running_app(ingest_settings()) as client:
        response = await client.post("/api/ops/analyze", json=ASK)
    assert response.status_code == 200, response.text
    result = RcaResult.model_validate(response.json())
    [question] = stand_in_worker
    assert result.request_id == question.request_id
    assert result.root_causes[0].service == "payment-db"
    assert question.services == ["payment"]
    assert question.model == "none"
    assert (question.window.end - question.window.start).total_seconds() == 900


async def test_stream_sends_progress_before_the_same_result(
    ingest_settings: SettingsFactory, stand_in_worker: list[QuestionEvent]
) -> None:
    """The SSE stream sends accepted, then each progress step, then the result the sync API returns."""
    async with running_app(ingest_settings()) as client:
        streamed = await client.post("/api/ops/analyze/stream", json=ASK)
        synced = await client.post("/api/ops/analyze", json=ASK)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    sequence = events(streamed.text)
    assert [name for name, _ in sequence] == ["accepted", "progress", "progress", "result"]
    streamed_result = json.loads(sequence[-1][1])
    synced_result = synced.json()
    for shape in (streamed_result, synced_result):
        shape.pop("request_id")
    assert streamed_result == synced_result


async def test_bad_requests_name_the_field(ingest_settings: SettingsFactory, nats_client: Client) -> None:
    """A missing question, a reversed window or an unknown model → 422 naming the field."""
    async with running_app(ingest_settings()) as client:
        missing = await client.post("/api/ops/analyze", json={"services": ["payment"]})
        reversed_window = await client.post(
            "/api/ops/analyze",
            json={"question": "q", "start": "2026-11-24T10:00:00Z", "end": "2026-11-24T09:00:00Z"},
        )
        unknown_model = await client.post("/api/ops/analyze", json={"question": "q", "model": "gpt-9"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "question"]
    assert reversed_window.status_code == 422
    assert "start must be before end" in reversed_window.text
    assert unknown_model.status_code == 422
    assert unknown_model.json()["detail"][0]["loc"] == ["body", "model"]


async def test_a_window_longer_than_max_lookback_is_422_naming_start(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """`start: 0` (a 57-year window) and a window past MAX_LOOKBACK are refused before anything is asked."""
    async with running_app(ingest_settings(max_lookback=3600)) as client:
        epoch = await client.post("/api/ops/analyze", json={"question": "q", "start": 0})
        two_hours = await client.post(
            "/api/ops/analyze",
            json={"question": "q", "start": "2026-11-24T08:00:00Z", "end": "2026-11-24T10:00:00"},
        )
    for refused in (epoch, two_hours):
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "start"]
        assert "MAX_LOOKBACK" in refused.text


async def test_no_answer_in_time_is_504_with_the_request_id(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """No worker answering: the sync API says 504 naming the request; the stream ends with an error event."""
    async with running_app(ingest_settings(analyze_timeout_s=0.5)) as client:
        response = await client.post("/api/ops/analyze", json=ASK)
        streamed = await client.post("/api/ops/analyze/stream", json=ASK)
    assert response.status_code == 504
    assert response.json()["detail"]["request_id"].startswith("api-")
    assert events(streamed.text)[-1][0] == "error"


async def test_token_protects_the_api(ingest_settings: SettingsFactory, nats_client: Client) -> None:
    """With AEGIS_WEBHOOK_TOKEN set, the analysis API wants the same bearer token."""
    async with running_app(
        ingest_settings(aegis_webhook_token=SecretStr("t0k"), analyze_timeout_s=0.2)
    ) as client:
        refused = await client.post("/api/ops/analyze", json=ASK)
        allowed = await client.post("/api/ops/analyze", json=ASK, headers={"Authorization": "Bearer t0k"})
    assert refused.status_code == 401
    assert allowed.status_code == 504  # past the token; no worker is running


async def test_openapi_documents_every_route(ingest_settings: SettingsFactory, nats_client: Client) -> None:
    """/openapi.json describes the webhook (Alertmanager's payload) and both analysis endpoints."""
    async with running_app(ingest_settings()) as client:
        spec = (await client.get("/openapi.json")).json()
    assert {"/alertmanager/webhook", "/api/ops/analyze", "/api/ops/analyze/stream"} <= set(spec["paths"])
    webhook_body = spec["components"]["schemas"]["AlertmanagerWebhook"]
    assert {"groupKey", "alerts", "version"} <= set(webhook_body["properties"])
    assert "504" in spec["paths"]["/api/ops/analyze"]["post"]["responses"]


async def test_nats_down_is_503() -> None:
    """Without NATS the API refuses with 503 and Retry-After instead of hanging."""
    async with running_app(make_settings("nats://127.0.0.1:1"), wait_ready=False) as client:
        response = await client.post("/api/ops/analyze", json=ASK)
        streamed = await client.post("/api/ops/analyze/stream", json=ASK)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert streamed.status_code == 503
