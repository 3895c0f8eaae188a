"""Nothing is lost while NATS is down: Feishu is told to re-deliver, and the re-delivery counts once."""

import asyncio

import nats
import pytest
from nats.js.errors import KeyNotFoundError

from aegis.devkit.fakes.feishu_events import message_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.asgi import until_status
from aegis.devkit.harness.nats_server import NatsServer
from aegis.gateway_feishu.publishing import seen_key
from aegis.shared.streams import FEISHU_EVENTS_BUCKET
from tests.gateway.conftest import make_settings, published_questions, running_gateway, wait_for_questions


async def test_event_during_outage_is_nacked_then_published_once_on_redelivery(
    nats_server: NatsServer, feishu_ws: FakeLongConnection
) -> None:
    """NATS down → ACK code 500 and the event is not recorded as seen; after NATS is back the
    re-delivered event is published exactly once (and a further re-delivery is a duplicate)."""
    event = message_event()
    event_id = event["header"]["event_id"]
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
        metrics = (await gateway.get("/metrics")).text
    assert 'aegis_feishu_questions_total{kind="message",outcome="failed"} 1.0' in metrics
    assert 'aegis_feishu_questions_total{kind="message",outcome="published"} 1.0' in metrics
    assert 'aegis_feishu_questions_total{kind="message",outcome="duplicate"} 1.0' in metrics
