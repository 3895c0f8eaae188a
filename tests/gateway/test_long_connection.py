"""The real lark-oapi long-connection client, the fake Feishu server, a real nats-server."""

from datetime import timedelta

import httpx
from nats.aio.client import Client
from prometheus_client import REGISTRY

from aegis.devkit.fakes.feishu_events import ASKER_OPEN_ID, GROUP_CHAT, mention, message_event, post_content
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.asgi import until_status
from aegis.devkit.harness.waiting import wait_for
from tests.gateway.conftest import (
    SettingsFactory,
    published_questions,
    running_gateway,
    wait_for_questions,
)


async def test_mention_becomes_question_and_is_acked(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """An @mention becomes a QuestionEvent with its text, chat, message, window and model; ACK code 200."""
    event = message_event("@_user_1 payment 5xx 变多了，过去30分钟怎么回事？用 deepseek")
    ack = await feishu_ws.send_event(event)
    assert ack.code == 200
    assert ack.biz_rt_ms is not None
    [question] = await wait_for_questions(nats_client, 1)
    message = event["event"]["message"]
    assert question.text == "payment 5xx 变多了，过去30分钟怎么回事？用 deepseek"
    assert question.reply_to is not None
    assert (question.reply_to.chat_id, question.reply_to.message_id) == (GROUP_CHAT, message["message_id"])
    assert question.window.end - question.window.start == timedelta(minutes=30)
    assert int(question.window.end.timestamp() * 1000) == int(message["create_time"])
    assert question.model == "deepseek"
    assert question.services == ["payment"]
    assert question.asker is not None
    assert question.asker.open_id == ASKER_OPEN_ID
    assert question.request_id == f"fs-{event['header']['event_id']}"
    assert len(await published_questions(nats_client)) == 1


async def test_same_event_three_times_is_one_question(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """The same event delivered three times yields one question, and every delivery is acked 200."""
    event = message_event()
    acks = [await feishu_ws.send_event(event) for _ in range(3)]
    assert [ack.code for ack in acks] == [200, 200, 200]
    assert len(await published_questions(nats_client)) == 1


async def test_messages_that_ask_nothing_publish_nothing(
    ws_settings: SettingsFactory, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """A group message without the bot's @, an @ of someone else, or a chat outside the allow-list:
    acked 200, nothing published; an allowed chat's @mention still is."""
    before = {reason: ignored(reason) for reason in ("not_mentioned", "chat_not_allowed")}
    async with running_gateway(ws_settings(feishu_allowed_chat_ids="oc_oncall, oc_sre")) as gateway:
        no_mention = message_event("payment 挂了吗", mentions=[])
        someone_else = message_event("@_user_1 看看", mentions=[mention(open_id="ou_someone", name="Li")])
        other_chat = message_event(chat_id="oc_marketing")
        for event in (no_mention, someone_else, other_chat):
            assert (await feishu_ws.send_event(event)).code == 200
        assert await published_questions(nats_client) == []
        allowed = message_event(chat_id="oc_sre")
        assert (await feishu_ws.send_event(allowed)).code == 200
        [question] = await wait_for_questions(nats_client, 1)
        assert question.reply_to is not None
        assert question.reply_to.chat_id == "oc_sre"
        assert "aegis_feishu_events_ignored_total" in (await gateway.get("/metrics")).text
    assert ignored("not_mentioned") - before["not_mentioned"] == 2
    assert ignored("chat_not_allowed") - before["chat_not_allowed"] == 1


def ignored(reason: str) -> float:
    """The process registry's count of events ignored for `reason` (what /metrics serves)."""
    return REGISTRY.get_sample_value("aegis_feishu_events_ignored_total", {"reason": reason}) or 0.0


async def test_p2p_text_and_group_post_become_questions(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """A one-to-one text without any @ and a rich-text post that @s the bot both become questions."""
    p2p = message_event("cart 延迟高 last 2 hours", chat_id="oc_p2p_li", chat_type="p2p", mentions=[])
    post = message_event(
        message_type="post",
        content=post_content(
            [
                {"tag": "at", "user_id": "@_user_1", "user_name": "Aegis"},
                {"tag": "text", "text": " checkout 报错"},
            ],
            [{"tag": "text", "text": "model=qwen "}, {"tag": "a", "text": "dashboard", "href": "https://x"}],
            title="故障",
        ),
    )
    assert (await feishu_ws.send_event(p2p)).code == 200
    assert (await feishu_ws.send_event(post)).code == 200
    first, second = await wait_for_questions(nats_client, 2)
    assert (first.text, first.services, first.window.end - first.window.start) == (
        "cart 延迟高 last 2 hours",
        ["cart"],
        timedelta(hours=2),
    )
    assert (second.text, second.services, second.model) == (
        "故障\ncheckout 报错\nmodel=qwen dashboard",
        ["checkout"],
        "qwen",
    )


async def test_reconnects_after_the_server_drops_the_connection(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """When the server drops the connection the client reconnects by itself and later events arrive."""
    reconnects = REGISTRY.get_sample_value("aegis_feishu_long_connection_reconnects_total") or 0.0
    assert (await feishu_ws.send_event(message_event())).code == 200
    opened = feishu_ws.connections_opened
    await feishu_ws.drop()
    await wait_for(
        lambda: feishu_ws.connections_opened > opened and feishu_ws.connected, 10, what="reconnect"
    )
    assert len(feishu_ws.endpoint_calls) >= 2  # a reconnect asks the endpoint for a fresh URL
    assert feishu_ws.pings >= 1  # the client pinged (at start-up) and was answered with a pong
    assert (await feishu_ws.send_event(message_event(), fragments=2)).code == 200
    await wait_for_questions(nats_client, 2)
    metrics = (await gateway.get("/metrics")).text
    assert f"aegis_feishu_long_connection_reconnects_total {reconnects + 1}" in metrics
    assert "aegis_feishu_long_connection_up 1.0" in metrics


async def test_refused_credentials_make_the_gateway_unhealthy(
    ws_settings: SettingsFactory, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """A fatal endpoint answer (wrong app secret) is reported by /healthz and /readyz, not retried forever."""
    async with running_gateway(ws_settings(feishu_app_secret="wrong"), wait_ready=False) as gateway:
        health = await until_status(gateway, "/healthz", 503)
        assert "app secret invalid" in health.json()["reason"]
        assert (await gateway.get("/readyz")).status_code == 503
