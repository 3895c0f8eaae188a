"""One trace runs from the Alertmanager webhook, across NATS, to the notifier's Feishu send; and
from a question, through the rca-worker, to the answer in Feishu."""

from collections.abc import Iterator

import httpx
import pytest
from nats.aio.client import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import webhook_payload
from aegis.devkit.harness.ingest_server import serving_ingest
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for
from aegis.rca_worker.service.app import make_app
from aegis.shared.questions import ReplyTo
from aegis.shared.subjects import question_subject
from aegis.shared.tracing import tracer, with_trace
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, question
from tests.worker.conftest import backends, prometheus_loopback, running, worker_settings  # noqa: F401
from tests.worker.incident import incident, jaeger_fake, loki_fake  # noqa: F401

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans of this test, recorded in memory (the provider is process-wide and set once)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


async def test_webhook_trace_reaches_the_feishu_send(
    spans: InMemorySpanExporter,
    nats_url: str,
    nats_client: Client,
    feishu: FakeFeishu,
    run_notifier: RunNotifier,
) -> None:
    """The notifier's "feishu send" span belongs to the trace the webhook request started."""
    settings = IngestSettings(nats_url=nats_url, log_format="json")
    async with serving_ingest(settings) as ingest_url, run_notifier():
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"{ingest_url}/alertmanager/webhook", json=webhook_payload(name="Traced")
            )
        assert answer.status_code == 200
        await wait_for(lambda: feishu.sent(CHAT), what="the card")
    finished = {span.name: span for span in spans.get_finished_spans()}
    webhook = finished["POST /alertmanager/webhook"]
    send = finished["feishu send alert card"]
    assert send.context is not None
    assert webhook.context is not None
    assert send.context.trace_id == webhook.context.trace_id
    assert send.attributes is not None
    assert send.attributes["feishu.message_id"] == feishu.sent(CHAT)[0].message_id


async def test_question_trace_runs_through_the_worker_to_the_answer(
    spans: InMemorySpanExporter,
    nats_url: str,
    nats_client: Client,
    feishu: FakeFeishu,
    run_notifier: RunNotifier,
    incident: ScenarioTelemetry,  # noqa: F811
    backends: Backends,  # noqa: F811
) -> None:
    """The worker's span continues the asker's trace, and the notifier's answer send continues it."""
    asked = feishu.user_message(CHAT, "@_user_1 payment 5xx went up, why?")
    event = question(incident, source="feishu", reply_to=ReplyTo(chat_id=CHAT, message_id=asked.message_id))
    async with running(make_app(worker_settings(nats_url, backends))), run_notifier():
        with tracer("tests").start_as_current_span("asking") as asking:
            headers = with_trace({"Nats-Msg-Id": event.request_id})
        await nats_client.jetstream().publish(
            question_subject("feishu"), event.model_dump_json().encode(), headers=headers
        )
        await wait_for(
            lambda: any(s.name == "feishu reply answer" for s in spans.get_finished_spans()),
            timeout=30,
            what="the answer's send span",
        )
    finished = {span.name: span for span in spans.get_finished_spans()}
    trace_id = asking.get_span_context().trace_id
    for name in ("rca-worker analyse", "feishu reply analysing", "feishu reply answer"):
        context = finished[name].context
        assert context is not None
        assert context.trace_id == trace_id, name
