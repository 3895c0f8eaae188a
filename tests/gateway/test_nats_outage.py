"""Nothing is lost while NATS is down: Feishu is told to re-deliver, and the re-delivery counts once."""

import asyncio

import nats
import pytest
from nats.js.errors import KeyNotFoundError
from prometheus_client import REGISTRY

from aegis.gateway_feishu.publishing import seen_key
from aegis.shared.streams import FEISHU_EVENTS_BUCKET
from tests.fakes.feishu_ws import FakeLongConnection
from tests.gateway.conftest import make_settings, published_questions, running_gateway, wait_for_questions
from tests.gateway.payloads import message_event
from tests.harness.asgi import until_status
from tests.harness.nats_server import NatsServer


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


def questions_counted(outcome: str) -> float:
    """The process registry's count of message questions with `outcome` (what /metrics serves)."""
    labels = {"kind": "message", "outcome": outcome}
    return REGISTRY.get_sample_value("aegis_feishu_questions_total", labels) or 0.0
