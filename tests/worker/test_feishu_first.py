"""Feishu questions go first in a replica: API and CLI analyses, their backend calls and the
reading of their answers wait while a Feishu one runs, and their calls share one small budget."""

import asyncio
import threading
import time

import httpx

from aegis.rca_worker.backends.readonly import Backend, ReadOnlyClient
from aegis.rca_worker.discovery import ServiceDirectory
from aegis.rca_worker.lane import CpuLane
from aegis.rca_worker.service.app import Worker, make_broker
from aegis.rca_worker.service.health import Readiness
from aegis.rca_worker.service.progress import ProgressPublisher
from aegis.rca_worker.service.questions import FeishuFirst
from aegis.shared.subjects import QuestionSource
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, question
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


async def test_a_feishu_question_heard_on_its_subject_holds_api_work_until_it_has_run() -> None:
    """Heard as it is published, a Feishu question holds API work while the consumer hands it over,
    then while it runs; once it has run, the API goes on."""
    priority = FeishuFirst()
    went_on = asyncio.Event()

    async def api() -> None:
        await priority.clear()
        went_on.set()

    priority.heard()
    waiting = asyncio.create_task(api())
    await asyncio.sleep(0.05)
    assert not went_on.is_set(), "API work went on while a Feishu question was being picked up"
    async with priority.turn("feishu"):
        await asyncio.sleep(0.05)
        assert not went_on.is_set(), "API work went on while the Feishu question ran"
    await asyncio.wait_for(waiting, 1)


async def test_a_heard_feishu_question_another_replica_took_holds_api_work_for_a_moment_only() -> None:
    """A Feishu question this replica never starts (another took it; it needed no analysis) holds
    API work for `pick_up_s`, not for good; a second one heard meanwhile holds it from then on."""
    priority = FeishuFirst(pick_up_s=0.2)
    priority.heard()
    began = time.perf_counter()
    await asyncio.sleep(0.1)
    priority.heard()
    await asyncio.wait_for(priority.clear(), 1)
    held = time.perf_counter() - began
    assert 0.28 <= held < 0.6, f"API work held {held:.2f} s for two unstarted Feishu questions"


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


async def test_waiting_api_code_goes_on_one_stretch_per_loop_turn() -> None:
    """When a Feishu turn ends, waiting API code resumes one stretch per loop turn, so a Feishu
    question that arrives a few turns later holds the rest again."""
    priority = FeishuFirst()
    passed: list[int] = []

    async def api(number: int) -> None:
        await priority.clear()
        passed.append(number)

    async with priority.turn("feishu"):
        waiting = [asyncio.create_task(api(n)) for n in range(10)]
        await asyncio.sleep(0.05)
    for _ in range(3):
        await asyncio.sleep(0)  # the loop turns a few times before the next Feishu question is in
    async with priority.turn("feishu"):
        went_on = len(passed)
        await asyncio.sleep(0.05)
        assert len(passed) == went_on, "API code went on while a Feishu analysis ran"
    await asyncio.wait_for(asyncio.gather(*waiting), 1)
    assert went_on <= 2, f"{went_on} waiting API stretches ran before the next Feishu question"
    assert sorted(passed) == list(range(10))


async def test_queued_api_calls_stay_and_answers_wait_while_feishu_runs(
    nats_url: str, backends: Backends
) -> None:
    """An API call queued for a slot of the shared budget is not sent while a Feishu analysis
    runs, and an answer that arrives meanwhile is read only after it."""
    settings = worker_settings(nats_url, backends, evidence_concurrency=2)
    broker = make_broker(settings)
    worker = Worker(settings, broker, Readiness(broker))
    priority = FeishuFirst()
    prometheus = backends.prometheus
    async with httpx.AsyncClient() as http:
        worker.http = http
        api = worker.context(ProgressPublisher(broker, "a-1", before_step=priority.clear), "api").client
        sent = len(prometheus.requests)
        prometheus.latency_s = 1.0
        calls = [asyncio.create_task(api.get_json(Backend.PROMETHEUS, LABELS)) for _ in range(4)]
        while len(prometheus.requests) < sent + 2:
            await asyncio.sleep(0.005)
        async with priority.turn("feishu"):
            await asyncio.sleep(1.5)  # the two calls in flight are answered after 1 s
            during = len(prometheus.requests) - sent
            read = sum(call.done() for call in calls)
        answers = await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert during == 2, "an API call queued for a slot went out while a Feishu analysis ran"
    assert read == 0, "an API answer was read while a Feishu analysis ran"
    assert all(answer["status"] == "success" for answer in answers)
    assert len(prometheus.requests) == sent + 4


async def test_a_feishu_analysis_does_not_wait_for_a_paused_api_service_lookup(
    nats_url: str, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """A Feishu analysis that needs the service names while a paused API analysis refreshes
    them gets the names from before at once, instead of waiting for that refresh."""
    settings = worker_settings(nats_url, backends)
    broker = make_broker(settings)
    worker = Worker(settings, broker, Readiness(broker))
    priority = FeishuFirst()
    directory = ServiceDirectory(ttl_s=0)  # every look-up after the first is a refresh
    window = question(incident).window
    start, end = window.start.timestamp(), window.end.timestamp()
    async with httpx.AsyncClient() as http:
        worker.http = http
        feishu = worker.context(ProgressPublisher(broker, "f-1"), "feishu").client
        api = worker.context(ProgressPublisher(broker, "a-1", before_step=priority.clear), "api").client
        before = await directory.known(feishu, settings, start, end)
        sent = len(backends.prometheus.requests)
        backends.prometheus.latency_s = 0.3
        refresh = asyncio.create_task(directory.known(api, settings, start, end))
        while len(backends.prometheus.requests) == sent:  # its first call is under way
            await asyncio.sleep(0.005)
        async with priority.turn("feishu"):
            during = await asyncio.wait_for(directory.known(feishu, settings, start, end), 2)
        after = await asyncio.wait_for(refresh, 10)
    assert "payment" in before
    assert during == before
    assert after == before


def _busy(seconds: float) -> str:
    """Pure-Python CPU work for `seconds` (a digest or a ranking stands in), and the thread it ran on."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sum(range(200))
    return threading.current_thread().name


async def test_an_api_analysis_cpu_stretch_waits_for_feishu_and_leaves_the_loop_free() -> None:
    """An API lane's stretch starts only once no Feishu analysis runs, runs off the event loop (which
    keeps turning every few ms meanwhile), and the replica's API stretches run one at a time; the
    lane of the analysis others make way for runs its stretch inline."""
    priority = FeishuFirst()
    shared = asyncio.Lock()
    lanes = [CpuLane(priority.clear, shared), CpuLane(priority.clear, shared)]
    async with priority.turn("feishu"):
        held = asyncio.create_task(lanes[0].run(_busy, 0.01))
        await asyncio.sleep(0.1)
        assert not held.done(), "an API stretch ran while a Feishu analysis did"
    assert await asyncio.wait_for(held, 5) != threading.current_thread().name

    lags: list[float] = []

    async def ticking(until: asyncio.Future[list[str]]) -> None:
        while not until.done():
            began = time.perf_counter()
            await asyncio.sleep(0.002)
            lags.append(time.perf_counter() - began)

    began = time.perf_counter()
    stretches = asyncio.gather(*(lane.run(_busy, 0.3) for lane in lanes))
    await ticking(stretches)
    await stretches
    assert time.perf_counter() - began >= 0.6, "two API stretches ran at once"
    assert len(lags) > 20, "the event loop hardly turned while API stretches ran"
    assert max(lags) < 0.2, f"the loop stalled {max(lags):.3f} s under an API stretch"
    assert await CpuLane().run(_busy, 0.001) == threading.current_thread().name
