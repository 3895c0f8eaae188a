"""What an operator sees of the worker: FastStream's broker metrics beside the worker's own on one
/metrics, degraded answers counted by cause, and one request_id on every log line of a question,
in the worker and in the notifier that answers it."""

import asyncio
import time

import httpx
import pytest
import structlog
from faststream.asgi import AsgiFastStream
from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.llm import Garbage, ScriptedLlm
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for
from aegis.rca_worker.service.app import make_app
from aegis.shared.questions import ReplyTo
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, answer_to, ask, question
from tests.worker.conftest import running, worker_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
HANDLER = {"app_name": "aegis-rca-worker", "broker": "nats", "handler": "aegis.question.cli"}


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


class WorkerHttp:
    """The worker's HTTP routes as an operator reads them; counters are process-wide, so a test
    compares `/metrics` before and after."""

    def __init__(self, app: AsgiFastStream) -> None:
        self._app = app
        self.before: Samples = {}
        self.after: Samples = {}

    async def get(self, path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=self._app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            return await client.get(path)

    async def scrape(self) -> Samples:
        response = await self.get("/metrics")
        assert response.status_code == 200
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    def moved(self, name: str, **labels: str) -> float:
        """How much a sample grew between `before` and `after`."""
        sample = key(name, **labels)
        return self.after.get(sample, 0.0) - self.before.get(sample, 0.0)

    async def after_moving(self, name: str, **labels: str) -> None:
        """Scrape into `after` until `name` moved: the handler counts after publishing the answer."""
        deadline = time.monotonic() + 10
        while True:
            self.after = await self.scrape()
            if self.moved(name, **labels) or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    async def ready(self) -> None:
        """Wait for /readyz: the worker has written its start-up lines by then."""
        deadline = time.monotonic() + 10
        while (await self.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "/readyz not 200 within 10 s"
            await asyncio.sleep(0.05)


async def test_one_question_shows_in_faststreams_and_the_workers_own_metrics(
    worker: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry
) -> None:
    """After one answered question /metrics counts it as received, processed (acked) and answered,
    times each step, and counts the result published; per-request subjects never become labels."""
    http = WorkerHttp(worker)
    http.before = await http.scrape()
    event = question(incident)
    await ask(nats_client, event)
    await answer_to(nats_client, event.request_id)
    await http.after_moving("faststream_received_processed_messages_total", **HANDLER, status="acked")
    assert http.moved("faststream_received_messages_total", **HANDLER) == 1
    assert http.moved("faststream_received_processed_messages_total", **HANDLER, status="acked") == 1
    assert http.moved("faststream_received_processed_messages_duration_seconds_count", **HANDLER) == 1
    result = {"app_name": "aegis-rca-worker", "broker": "nats", "destination": "aegis.rca.result.cli"}
    assert http.moved("faststream_published_messages_total", **result, status="success") == 1
    for step in ("scope", "collect", "rank", "guard", "total"):
        assert http.moved("aegis_rca_step_duration_seconds_count", step=step) == 1, step
    assert http.moved("aegis_rca_analyses_total", outcome="answered") == 1
    labels = {value for _, pairs in http.after for _, value in pairs}
    assert not any(event.request_id in value for value in labels)


@pytest.fixture
def failing_model(nats_url: str, backends: Backends, llm: ScriptedLlm) -> AsgiFastStream:
    """A worker whose model `qwen` (Ollama) answers HTML, and whose Loki answers garbage."""
    settings = worker_settings(nats_url, backends, ollama_base_url=llm.ollama_url, llm_timeout_s=5.0)
    backends.loki.mode = "garbage"
    llm.script(Garbage())
    return make_app(settings)


async def test_degraded_answers_are_counted_by_cause(
    failing_model: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry
) -> None:
    """A model that failed and a backend that failed each count one degraded answer of their cause."""
    app = failing_model
    async with running(app):
        http = WorkerHttp(app)
        http.before = await http.scrape()
        event = question(incident, model="qwen")
        await ask(nats_client, event)
        answer = await answer_to(nats_client, event.request_id)
        assert answer.degraded
        assert answer.evidence_gaps
        await http.after_moving("aegis_rca_analyses_total", outcome="degraded")
    assert http.moved("aegis_rca_degraded_answers_total", cause="llm") == 1
    assert http.moved("aegis_rca_degraded_answers_total", cause="evidence_gaps") == 1
    assert http.moved("aegis_rca_analyses_total", outcome="degraded") == 1


async def test_every_log_line_of_one_question_carries_its_request_id(
    failing_model: AsgiFastStream, nats_client: Client, incident: ScenarioTelemetry
) -> None:
    """From "analysis started" through the model's failure deep in the graph to "answered", each
    line the worker logs about the question names its request_id, though only the handler bound it."""
    app = failing_model
    async with running(app):
        await WorkerHttp(app).ready()
        event = question(incident, model="qwen")
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
            await ask(nats_client, event)
            await answer_to(nats_client, event.request_id)
            await wait_for(lambda: any(line["event"] == "answered" for line in lines), what="answered")
    events = [line["event"] for line in lines]
    assert {"analysis started", "llm fallback", "answered"} <= set(events), events
    assert [line for line in lines if line.get("request_id") != event.request_id] == []


async def test_one_request_id_runs_through_the_log_lines_of_the_worker_and_the_notifier(
    nats_url: str,
    nats_client: Client,
    incident: ScenarioTelemetry,
    backends: Backends,
    feishu: FakeFeishu,
    run_notifier: RunNotifier,
) -> None:
    """A Feishu question: the worker's lines and the notifier's — its retry of a failed send
    included — all carry the request_id the gateway gave it, which travels inside the events."""
    asked = feishu.user_message(CHAT, "@_user_1 payment 5xx went up, why?")
    event = question(incident, source="feishu", reply_to=ReplyTo(chat_id=CHAT, message_id=asked.message_id))
    feishu.fail_next(1, status=500)  # the "analysing…" reply fails once and is retried
    async with running(make_app(worker_settings(nats_url, backends))) as app, run_notifier():
        await WorkerHttp(app).ready()
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
            await ask(nats_client, event)
            await wait_for(
                lambda: any(line["event"] == "answer delivered" for line in lines),
                timeout=30,
                what="the answer in Feishu",
            )
    by_event = {line["event"]: line for line in lines}
    for said in ("analysis started", "answered", "delivery failed, will retry", "answer delivered"):
        assert by_event[said].get("request_id") == event.request_id, (said, by_event.get(said))
