"""Claim clicks, over the HTTP callback and the long connection: exactly one clicker claims the card."""

import asyncio
import json
from typing import Any

import httpx
from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.feishu_events import card_click_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.shared.claims import card_key
from aegis.shared.streams import MESSAGES_BUCKET, Topology, ensure_bucket
from tests.gateway.callbacks import VERIFICATION_TOKEN
from tests.gateway.conftest import make_settings, running_gateway

CARD = {
    "config": {"wide_screen_mode": True, "update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "告警"}, "template": "red"},
    "elements": [
        {"tag": "div", "text": {"tag": "lark_md", "content": "**payment is unwell**"}},
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": "我来处理"},
                    "value": {"aegis_action": "claim"},
                }
            ],
        },
    ],
}


def _claim(message_id: str, open_id: str) -> dict[str, Any]:
    event = card_click_event({}, "", card_message_id=message_id, action="claim")
    event["event"]["operator"]["open_id"] = open_id
    return event


async def test_simultaneous_claims_have_one_winner_and_everyone_sees_it(
    nats_url: str, nats_client: Client, feishu: FakeFeishu
) -> None:
    """Five people click at once: one success toast, four told it is taken; every card names the winner."""
    cards = await ensure_bucket(nats_client.jetstream(), MESSAGES_BUCKET, Topology())
    await cards.put(card_key("om_card_1"), json.dumps(CARD).encode())
    settings = make_settings(
        nats_url, feishu.base_url, feishu_event_mode="http", feishu_verification_token=VERIFICATION_TOKEN
    )
    async with running_gateway(settings) as gateway:
        answers = await asyncio.gather(
            *(gateway.post("/feishu/receive", json=_claim("om_card_1", f"ou_user_{i}")) for i in range(5))
        )
        unknown = (await gateway.post("/feishu/receive", json=_claim("om_never_sent", "ou_user_9"))).json()
    bodies = [a.json() for a in answers]
    winners = [b for b in bodies if b["toast"]["type"] == "success"]
    assert len(winners) == 1
    [winner] = [f"ou_user_{i}" for i, b in enumerate(bodies) if b["toast"]["type"] == "success"]
    for body in bodies:
        shown = str(body["card"]["data"])
        assert f"<at id={winner}></at>" in shown
        assert "我来处理" not in shown
    assert unknown["toast"]["type"] == "success"
    assert "card" not in unknown  # no card kept for it: a toast, and nothing invented


async def test_a_claim_on_the_long_connection_is_answered_with_the_marked_card(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """Through lark-oapi's long connection the answer carries the toast and the card naming the claimer."""
    cards = await ensure_bucket(nats_client.jetstream(), MESSAGES_BUCKET, Topology())
    await cards.put(card_key("om_card_ws"), json.dumps(CARD).encode())
    first = await feishu_ws.send_event(_claim("om_card_ws", "ou_first"))
    second = await feishu_ws.send_event(_claim("om_card_ws", "ou_second"))
    assert first.data is not None
    assert second.data is not None
    assert first.data["toast"]["type"] == "success"
    assert second.data["toast"]["type"] == "info"
    for answer in (first.data, second.data):
        assert answer["card"]["type"] == "raw"
        assert "<at id=ou_first></at>" in json.dumps(answer["card"]["data"], ensure_ascii=False)
