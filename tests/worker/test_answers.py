"""The worker answers every question exactly once over NATS: progress for each step first, usage
help for an empty question, a failure answer and a dead letter when attempts run out."""

import asyncio
import time

import httpx
from faststream.asgi import AsgiFastStream
from nats.aio.client import Client

from aegis.rca_worker.service.app import make_app
from aegis.shared.rca import RcaResult
from aegis.shared.streams import QUESTIONS_STREAM
from aegis.shared.subjects import question_subject, result_subject
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, answer_to, ask, dead_letters, progress, question, results
from tests.worker.conftest import running, worker_settings


async def test_every_step_reports_progress_before_the_result(
    worker: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry, backends: Backends
) -> None:
    """scope, collect, rank and guard each start and finish, and `result` is done, before the result."""
    event = question(incident, "payment 5xx went up, why?")
    await ask(nats_client, event)
    result = await answer_to(nats_client, event.request_id)
    steps = [(p.step, p.status) for p in await progress(nats_client, event.request_id)]
    expected = [(s, st) for s in ("scope", "collect", "rank", "guard") for st in ("started", "done")]
    assert steps == [*expected, ("result", "done")]
    assert result.root_causes[0].service == "payment"
    assert result.model == "none"
    assert not result.failed
    assert {"scope_ms", "collect_ms", "rank_ms", "guard_ms", "total_ms"} <= set(result.timings)
    assert backends.writes() == []


async def test_an_empty_question_is_answered_with_usage_help_without_analysis(
    worker: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry, backends: Backends
) -> None:
    """No words, no services, no alert: a usage answer at once, no backend queried, no analysis step."""
    before = sum(len(server.requests) for server in backends.all())
    event = question(incident, "   ")
    await ask(nats_client, event)
    result = await answer_to(nats_client, event.request_id)
    assert "Tell me what to look at" in result.summary
    assert result.root_causes == []
    assert not result.failed
    assert [(p.step, p.status) for p in await progress(nats_client, event.request_id)] == [("result", "done")]
    assert sum(len(server.requests) for server in backends.all()) == before


async def test_a_payload_that_is_not_a_question_is_dead_lettered_with_the_reason(
    worker: AsgiFastStream, nats_client: Client
) -> None:
    """Bytes that are not a QuestionEvent go to aegis.dlq.aegis.question.api, naming the bad field."""
    await nats_client.jetstream().publish(question_subject("api"), b'{"request_id": "x y", "source": "api"}')

    deadline = time.monotonic() + 10
    while not (letters := await dead_letters(nats_client)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert len(letters) == 1
    payload, headers = letters[0]
    assert payload["request_id"] == "x y"
    assert headers["Aegis-Dlq-Subject"] == "aegis.question.api"
    assert "does not match its schema" in headers["Aegis-Dlq-Reason"]
    assert "request_id" in headers["Aegis-Dlq-Reason"]
    assert await results(nats_client, "api") == []


async def test_a_question_that_keeps_failing_gets_a_failure_answer_and_a_dead_letter(
    nats_url: str, nats_client: Client, incident: ScenarioTelemetry, backends: Backends
) -> None:
    """Every attempt outlives RCA_ANALYSIS_TIMEOUT_S: after RCA_MAX_DELIVER tries, failed=True says why."""
    backends.prometheus.latency_s = 3.0
    settings = worker_settings(nats_url, backends, rca_analysis_timeout_s=0.6, rca_max_deliver=2)
    event = question(incident, "why is payment slow?")
    async with running(make_app(settings)):
        await ask(nats_client, event)
        result = await answer_to(nats_client, event.request_id)
        deadline = time.monotonic() + 10
        while not (letters := await dead_letters(nats_client)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    assert result.failed
    assert result.root_causes == []
    assert "could not be completed after 2 attempts" in result.summary
    assert "did not finish within 0.6s" in (result.degraded_reason or "")
    events = await progress(nats_client, event.request_id)
    assert [p.status for p in events if p.step == "scope"].count("started") == 2
    assert ("scope", "failed") in [(p.step, p.status) for p in events]  # discovery reads the slow Prometheus
    assert events[-1].step == "result"
    assert events[-1].status == "failed"
    assert len(letters) == 1
    payload, headers = letters[0]
    assert payload["request_id"] == event.request_id
    assert "gave up after 2 deliveries" in headers["Aegis-Dlq-Reason"]
    assert [r.request_id for r in await results(nats_client)] == [event.request_id]


async def test_a_long_analysis_keeps_its_question_with_heartbeats(
    nats_url: str, nats_client: Client, incident: ScenarioTelemetry, backends: Backends
) -> None:
    """Collect takes several ack-waits; in_progress() heartbeats keep it from being handed out again."""
    # A CLI analysis decodes, digests and mines in its lane's thread (`rca_worker.lane`), so the event
    # loop, and with it the heartbeat, is never held for longer than one answer's JSON decode.
    ack_wait = 2.0
    backends.jaeger.latency_s = 2.0
    settings = worker_settings(nats_url, backends, rca_ack_wait_s=ack_wait, rca_concurrency=2)
    event = question(incident, "checkout errors?")
    async with running(make_app(settings)):
        began = time.monotonic()
        await ask(nats_client, event)
        result = await answer_to(nats_client, event.request_id, timeout=60)
        took = time.monotonic() - began
    assert took > 2 * ack_wait, "the analysis must outlast two ack waits for this test to mean anything"
    events = await progress(nats_client, event.request_id)
    assert [(p.step, p.status) for p in events].count(("scope", "started")) == 1
    assert [r.request_id for r in await results(nats_client)] == [event.request_id]
    assert not result.failed


async def test_health_and_readiness_are_served(
    worker: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry
) -> None:
    """/healthz and /readyz answer 200 while consuming (/metrics: test_observability.py)."""
    event = question(incident)
    await ask(nats_client, event)
    await answer_to(nats_client, event.request_id)
    transport = httpx.ASGITransport(app=worker)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


async def test_a_second_answer_to_the_same_request_is_dropped_by_jetstream(
    worker: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry
) -> None:
    """A worker that published and died before acking: the redelivered question's answer is a duplicate."""
    event = question(incident)
    earlier = RcaResult(request_id=event.request_id, source="cli", summary="answered before the crash")
    await nats_client.jetstream().publish(
        result_subject("cli"),
        earlier.model_dump_json().encode(),
        headers={"Nats-Msg-Id": f"result-{event.request_id}"},
    )
    await ask(nats_client, event)
    await wait_for_progress(nats_client, event.request_id, ("result", "done"))
    await wait_until_acked(nats_client)  # the worker acks only after its own publish returned
    stored = [r for r in await results(nats_client) if r.request_id == event.request_id]
    assert [r.summary for r in stored] == ["answered before the crash"]


async def wait_until_acked(client: Client, timeout: float = 10.0) -> None:
    """Until the rca-worker consumer has acknowledged every question delivered to it."""
    deadline = time.monotonic() + timeout
    while True:
        info = await client.jetstream().consumer_info(QUESTIONS_STREAM, "rca-worker")
        if (
            info.num_ack_pending == 0
            and info.delivered.stream_seq
            and info.ack_floor.stream_seq >= info.delivered.stream_seq
        ):
            return
        assert time.monotonic() < deadline, "questions still unacknowledged"
        await asyncio.sleep(0.05)


async def wait_for_progress(
    client: Client, request_id: str, step: tuple[str, str], timeout: float = 20.0
) -> None:
    """Until `step` (name, status) has been reported for `request_id`."""
    deadline = time.monotonic() + timeout
    while step not in [(p.step, p.status) for p in await progress(client, request_id)]:
        assert time.monotonic() < deadline, f"{step} not reported within {timeout}s"
        await asyncio.sleep(0.1)
