"""Feishu questions go first in a replica: API and CLI analyses, and their backend calls, wait while
a Feishu one runs, and their calls share one small budget."""

import asyncio
import time

import httpx

from aegis.rca_worker.backends.readonly import Backend, ReadOnlyClient
from aegis.rca_worker.service.app import Worker, make_broker
from aegis.rca_worker.service.health import Readiness
from aegis.rca_worker.service.progress import ProgressPublisher
from aegis.rca_worker.service.questions import FeishuFirst
from aegis.shared.subjects import QuestionSource
from tests.worker.asking import Backends
from tests.worker.conftest import worker_settings

LABELS = "/api/v1/labels"


async def test_an_api_analysis_waits_for_the_running_feishu_one_and_then_goes() -> None:
    """While a Feishu turn is held, an API turn (and an API step) waits; released, both go on."""
    priority = FeishuFirst()
    order: list[str] = []

    async def api() -> None:
        async with priority.turn("api"):
            order.append("api started")
        await priority.clear()
        order.append("api next step")

    async with priority.turn("feishu"):
        waiting = asyncio.create_task(api())
        await asyncio.sleep(0.05)
        assert order == [], "the API analysis must not start while Feishu runs"
        async with priority.turn("feishu"):  # a second Feishu question does not wait
            order.append("feishu 2")
    await asyncio.wait_for(waiting, 1)
    assert order == ["feishu 2", "api started", "api next step"]


async def test_api_calls_share_a_small_budget_and_wait_while_feishu_runs(
    nats_url: str, backends: Backends
) -> None:
    """API analyses' backend calls share one analysis's budget (EVIDENCE_CONCURRENCY per backend)
    across the replica and are not sent while a Feishu analysis runs; a Feishu one has its own."""
    settings = worker_settings(nats_url, backends, evidence_concurrency=4)
    broker = make_broker(settings)
    worker = Worker(settings, broker, Readiness(broker))
    priority = FeishuFirst()
    prometheus = backends.prometheus
    prometheus.latency_s = 0.2

    def client(request_id: str, source: QuestionSource) -> ReadOnlyClient:
        waits = priority.clear if source != "feishu" else None
        return worker.context(ProgressPublisher(broker, request_id, before_step=waits), source).client

    async def calls(clients: list[ReadOnlyClient], each: int) -> float:
        began = time.monotonic()
        await asyncio.gather(
            *(c.request(Backend.PROMETHEUS, "GET", LABELS) for c in clients for _ in range(each))
        )
        return time.monotonic() - began

    async with httpx.AsyncClient() as http:
        worker.http = http
        api = [client("a-1", "api"), client("a-2", "cli")]
        api_s = await calls(api, 4)  # 8 calls, four at a time between both: two rounds
        feishu_s = await calls([client("f-1", "feishu")], 4)  # 4 calls at once: one round
        sent = len(prometheus.requests)
        async with priority.turn("feishu"):
            waiting = asyncio.create_task(api[0].request(Backend.PROMETHEUS, "GET", LABELS))
            await asyncio.sleep(0.5)
            held = len(prometheus.requests) - sent
        await asyncio.wait_for(waiting, 10)
    assert api_s >= 2 * 0.2
    assert feishu_s < api_s
    assert held == 0, "an API call went out while a Feishu analysis ran"
    assert len(prometheus.requests) == sent + 1
