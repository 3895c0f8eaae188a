"""A streaming API client that goes away cancels its analysis: nobody waits, the slot is free.

Real uvicorn serving alert-ingest, the real worker app and a real nats-server; the backends answer
slowly (as a loaded Prometheus does), so an analysis nobody cancels takes seconds.
"""

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import httpx
from nats.aio.client import Client
from prometheus_client import REGISTRY

from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.harness.asgi import until_status
from aegis.devkit.harness.ingest_server import serving_ingest
from aegis.rca_worker.service.app import make_app
from aegis.simulator.offline import scenario_window
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, answer_to, ask, question, results
from tests.worker.conftest import running, worker_settings

DROPPED = 20


def cancelled_count() -> float:
    return REGISTRY.get_sample_value("aegis_rca_analyses_total", {"outcome": "cancelled"}) or 0.0


def ask_body(incident: ScenarioTelemetry) -> dict[str, Any]:
    window = scenario_window(incident)
    return {
        "question": "payment 5xx went up, why?",
        "services": ["payment"],
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "model": "none",
    }


async def accepted_then_dropped(base_url: str, body: dict[str, Any]) -> str:
    """Open a stream, read until the question is accepted, then hang up; the request id."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        client.stream("POST", "/api/ops/analyze/stream", json=body) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: ") and "request_id" in line:
                return str(json.loads(line.removeprefix("data: "))["request_id"])
    raise AssertionError("the stream ended before `accepted`")


async def streamed_result(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """A whole stream read to its end; the `result` event's data."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        response = await client.post("/api/ops/analyze/stream", json=body)
    blocks = [dict(line.split(": ", 1) for line in b.splitlines()) for b in response.text.split("\n\n") if b]
    [result] = [json.loads(b["data"]) for b in blocks if b.get("event") == "result"]
    return result  # type: ignore[no-any-return]


async def test_dropped_streams_cancel_their_analyses_and_free_the_slots(
    nats_url: str, nats_client: Client, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """20 clients connect and drop: their analyses are cancelled, none is answered, and a Feishu
    question and a new API question asked after them are answered without waiting for them."""
    for server in backends.all():
        server.latency_s = 0.4  # an analysis makes several rounds of calls: seconds each
    ingest = IngestSettings(
        nats_url=nats_url,
        api_streams_per_client=DROPPED + 5,
        api_requests_per_minute=600,
        max_lookback=timedelta(days=1),
    )
    before = cancelled_count()
    settings = worker_settings(nats_url, backends, rca_concurrency=2, rca_ack_wait_s=30.0)
    async with running(make_app(settings)), serving_ingest(ingest) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as probe:
            await until_status(probe, "/readyz", 200, timeout=30)
        body = ask_body(incident)
        dropped = set(await asyncio.gather(*(accepted_then_dropped(base_url, body) for _ in range(DROPPED))))

        started = time.monotonic()
        feishu = question(incident, source="feishu")
        await ask(nats_client, feishu)
        later_api = asyncio.create_task(streamed_result(base_url, body))
        answered = await answer_to(nats_client, feishu.request_id, "feishu", timeout=60)
        api_answer = await asyncio.wait_for(later_api, 90)
        waited = time.monotonic() - started

        deadline = time.monotonic() + 10
        while cancelled_count() - before < DROPPED and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        api_results = {r.request_id for r in await results(nats_client, "api")}

    assert len(dropped) == DROPPED
    assert answered.root_causes
    assert api_answer["request_id"] not in dropped
    assert api_results & dropped == set(), "an abandoned analysis ran to its answer"
    assert cancelled_count() - before == DROPPED
    # Ten rounds of two seconds-long analyses stood in front of the new API question before.
    assert waited < 45, f"the questions asked after the dropped streams waited {waited:.1f} s"
