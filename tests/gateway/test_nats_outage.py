"""Nothing is lost while NATS is down: Feishu is told to re-deliver, and the re-delivery counts once;
what JetStream can never take is a logged refusal, not a re-delivery loop."""

import asyncio

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import StreamConfig
from nats.js.errors import KeyNotFoundError
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from aegis.devkit.fakes.feishu_events import message_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.asgi import until_status
from aegis.devkit.harness.nats_server import NatsServer
from aegis.gateway_feishu.publishing import QuestionPublisher, seen_key
from aegis.shared.publishing import StreamPublisher
from aegis.shared.questions import QuestionEvent
from aegis.shared.streams import (
    FEISHU_EVENTS_BUCKET,
    QUESTIONS_STREAM,
    Topology,
    ensure_bucket,
    stream_configs,
)
from tests.gateway.conftest import make_settings, published_questions, running_gateway, wait_for_questions


async def test_event_during_outage_is_nacked_then_published_once_on_redelivery(
    nats_server: NatsServer, feishu_ws: FakeLongConnection
) -> None:
    """NATS down → ACK code 500 and the event is not recorded as seen; after NATS is back the
    re-delivered event is published exactly once (and a further re-delivery is a duplicate)."""
    event = message_event()
    event_id = event["header"]["event_id"]
    outcomes = ("failed", "published", "duplicate")
    before = {outcome: questions_counted(outcome) for outcome in outcomes}
    async with running_gateway(make_settings(nats_server.url, feishu_ws.base_url)) as gateway:
        nats_server.stop()
        await until_status(gateway, "/readyz", 503)
        assert (await feishu_ws.send_event(event)).code == 500

        nats_server.start()
        await until_status(gateway, "/readyz", 200, timeout=15)
        nc = await nats.connect(nats_server.url)
        try:
            seen = await nc.jetstream().key_value(FEISHU_EVENTS_BUCKET)
            with pytest.raises(KeyNotFoundError):
                await seen.get(seen_key(event_id))
            assert await published_questions(nc) == []

            assert (await feishu_ws.send_event(event)).code == 200
            assert (await feishu_ws.send_event(event)).code == 200
            [question] = await wait_for_questions(nc, 1)
            await asyncio.sleep(0.2)  # the ACK comes first; the publish follows on the service loop
            assert len(await published_questions(nc)) == 1
            assert question.request_id == f"fs-{event_id}"
            assert (await seen.get(seen_key(event_id))).value == question.request_id.encode()
        finally:
            await nc.close()
        assert "aegis_feishu_questions_total" in (await gateway.get("/metrics")).text
    assert {outcome: questions_counted(outcome) - before[outcome] for outcome in outcomes} == {
        "failed": 1,
        "published": 1,
        "duplicate": 1,
    }


async def test_a_question_jetstream_can_never_store_is_a_logged_refusal(nats_client: Client) -> None:
    """Over the stream's max_msg_size: `refused`, logged with the reason, nothing recorded as published."""
    [config] = [c for c in stream_configs(Topology()) if c.name == QUESTIONS_STREAM]
    bounded = StreamConfig.from_response({**config.as_dict(), "max_msg_size": 128})
    await nats_client.jetstream().update_stream(bounded)
    seen = await ensure_bucket(nats_client.jetstream(), FEISHU_EVENTS_BUCKET, Topology())
    stream = StreamPublisher(nats_client, 1.0)
    await stream.start()
    question = QuestionEvent(request_id="q-refused", source="feishu", text="payment 5xx, why? " * 20)
    with capture_logs() as logs:
        published = await QuestionPublisher(stream, seen, 1.0).publish_once("ev-refused", question)
    assert published.result == "refused"
    [refusal] = [line for line in logs if line["event"].startswith("question refused")]
    assert refusal["event_id"] == "ev-refused"
    assert "JetStream refused" in refusal["reason"]
    with pytest.raises(KeyNotFoundError):
        await seen.get(seen_key("ev-refused"))


def questions_counted(outcome: str) -> float:
    """The process registry's count of message questions with `outcome` (what /metrics serves)."""
    labels = {"kind": "message", "outcome": outcome}
    return REGISTRY.get_sample_value("aegis_feishu_questions_total", labels) or 0.0
