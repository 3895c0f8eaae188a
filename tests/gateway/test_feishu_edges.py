"""The gateway as Feishu really pushes: slow NATS, fatal reconnects, unhandled types, clicks, bad bodies.

The real lark-oapi long-connection client against the fake Feishu server, a real nats-server
(behind a slow link where NATS must be slow), and the HTTP callback through the real app.
"""

import asyncio
import json
import time
from urllib.parse import urlparse

import httpx
import pytest
from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.feishu_events import GROUP_CHAT, card_click_event, message_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.asgi import until_status
from aegis.devkit.harness.slow_link import SlowLink
from aegis.gateway_feishu.settings import GatewaySettings
from tests.gateway.callbacks import VERIFICATION_TOKEN
from tests.gateway.conftest import (
    SettingsFactory,
    make_settings,
    published_questions,
    running_gateway,
    wait_for_questions,
)

LABELS = {"alertname": "PaymentErrors", "service": "payment"}
EXCEED_CONNECTION_LIMIT = 1000040350  # any endpoint code but 1 and 1000040343 is fatal to lark-oapi


async def test_five_simultaneous_events_are_acked_at_once_while_nats_takes_a_second(
    nats_url: str, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """With every NATS round trip slowed by 1 s, five simultaneous events are all ACKed within 100 ms."""
    target = urlparse(nats_url)
    with SlowLink(target.hostname or "127.0.0.1", target.port or 4222, delay_s=1.0) as link:
        settings = make_settings(link.url, feishu_ws.base_url, gateway_publish_timeout_s=2.5)
        async with running_gateway(settings):
            events = [message_event() for _ in range(5)]
            acks = await asyncio.gather(*(feishu_ws.send_event(event) for event in events))
            assert [ack.code for ack in acks] == [200] * 5
            assert max(ack.latency_s for ack in acks) < 0.1, [ack.latency_s for ack in acks]
            questions = await wait_for_questions(nats_client, 5, timeout=30)
    assert {q.request_id for q in questions} == {f"fs-{e['header']['event_id']}" for e in events}


async def test_fatal_reconnect_code_makes_the_gateway_unhealthy(
    ws_settings: SettingsFactory, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """When the endpoint answers a fatal code on reconnect, lark-oapi stops for good and /healthz fails."""
    async with running_gateway(ws_settings()) as gateway:
        assert (await gateway.get("/healthz")).status_code == 200
        feishu_ws.refuse_endpoint(EXCEED_CONNECTION_LIMIT)
        await feishu_ws.drop()
        await until_status(gateway, "/healthz", 503, timeout=15)
        body = (await gateway.get("/healthz")).json()
        assert "gave up reconnecting" in body["reason"]
        assert (await gateway.get("/readyz")).status_code == 503


@pytest.mark.parametrize("event_type", ["im.chat.member.bot.added_v1", "im.message.message_read_v1"])
async def test_subscribed_events_aegis_does_not_handle_are_acknowledged(
    event_type: str, gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """Another subscribed event type is answered 200 (lark's own answer would be 500) and asks nothing."""
    event = message_event()
    event["header"]["event_type"] = event_type
    assert (await feishu_ws.send_event(event)).code == 200
    await asyncio.sleep(0.2)
    assert await published_questions(nats_client) == []


async def test_double_click_starts_one_analysis(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """Two clicks by one asker on one card (two events) publish one question; both get the toast."""
    first = card_click_event(LABELS, "2026-11-24T09:30:00Z", card_message_id="om_card_9")
    second = card_click_event(LABELS, "2026-11-24T09:30:00Z", card_message_id="om_card_9")
    acks = [await feishu_ws.send_event(first), await feishu_ws.send_event(second)]
    assert all(ack.code == 200 and ack.data is not None for ack in acks)
    await wait_for_questions(nats_client, 1)
    await asyncio.sleep(0.5)
    assert len(await published_questions(nats_client)) == 1
    other_card = card_click_event(LABELS, "2026-11-24T09:30:00Z", card_message_id="om_card_10")
    assert (await feishu_ws.send_event(other_card)).code == 200
    await wait_for_questions(nats_client, 2)


async def test_forged_and_out_of_list_clicks_start_nothing(
    ws_settings: SettingsFactory, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """A click from a chat outside FEISHU_ALLOWED_CHAT_IDS, or whose value names another chat: nothing."""
    async with running_gateway(ws_settings(feishu_allowed_chat_ids="oc_other")):
        outside = card_click_event(LABELS, "2026-11-24T09:30:00Z", chat_id=GROUP_CHAT)
        forged = card_click_event(LABELS, "2026-11-24T09:30:00Z", chat_id="oc_other")
        forged["event"]["context"]["open_chat_id"] = GROUP_CHAT
        for click in (outside, forged):
            assert (await feishu_ws.send_event(click)).code == 200
        allowed = card_click_event(LABELS, "2026-11-24T09:30:00Z", chat_id="oc_other")
        assert (await feishu_ws.send_event(allowed)).code == 200
        [question] = await wait_for_questions(nats_client, 1)
        await asyncio.sleep(0.3)
    assert len(await published_questions(nats_client)) == 1
    assert question.reply_to is not None
    assert question.reply_to.chat_id == "oc_other"


def token_mode(nats_url: str, feishu: FakeFeishu) -> GatewaySettings:
    """HTTP callback mode with a verification token only (the app does not encrypt)."""
    return make_settings(
        nats_url, feishu.base_url, feishu_event_mode="http", feishu_verification_token=VERIFICATION_TOKEN
    )


async def test_deeply_nested_body_is_refused_before_parsing(
    nats_url: str, feishu: FakeFeishu, nats_client: Client
) -> None:
    """JSON nested 100,000 deep is a 400 before authentication or parsing, not a 500."""
    async with running_gateway(token_mode(nats_url, feishu)) as gateway:
        deep = b"[" * 100_000 + b"]" * 100_000
        answer = await gateway.post("/feishu/receive", content=deep)
        assert answer.status_code == 400
        assert "deeper" in answer.json()["msg"]
        nested = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
        assert (await gateway.post("/feishu/receive", content=nested)).status_code == 400


async def test_token_mode_refuses_stale_events(
    nats_url: str, feishu: FakeFeishu, nats_client: Client
) -> None:
    """Without an encrypt key a replayed event (older than Feishu's re-delivery schedule) is a 401."""
    async with running_gateway(token_mode(nats_url, feishu)) as gateway:
        stale = message_event(create_time_ms=int((time.time() - 8 * 3600) * 1000))
        stale["header"]["token"] = VERIFICATION_TOKEN
        assert (await gateway.post("/feishu/receive", content=json.dumps(stale))).status_code == 401
        old_request = message_event()
        old_request["header"]["token"] = VERIFICATION_TOKEN
        headers = {"X-Lark-Request-Timestamp": str(int(time.time() - 900)), "X-Lark-Request-Nonce": "n"}
        answer = await gateway.post("/feishu/receive", content=json.dumps(old_request), headers=headers)
        assert answer.status_code == 401
        fresh = message_event()
        fresh["header"]["token"] = VERIFICATION_TOKEN
        assert (await gateway.post("/feishu/receive", content=json.dumps(fresh))).status_code == 200
    assert len(await published_questions(nats_client)) == 1
