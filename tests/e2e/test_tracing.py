"""One trace runs from the Alertmanager webhook, across NATS, to the notifier's Feishu send."""

from collections.abc import Iterator

import httpx
import pytest
from nats.aio.client import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aegis.alert_ingest.settings import IngestSettings
from tests.fakes.feishu import FakeFeishu
from tests.harness.alerts import webhook_payload
from tests.harness.ingest_server import serving_ingest
from tests.harness.notifier_runner import CHAT, RunNotifier
from tests.harness.waiting import wait_for

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
