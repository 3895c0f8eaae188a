"""HTTP callback mode: the URL check, decryption, and refusal of forged, stale or mis-tokened events."""

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.feishu_events import card_click_event, message_event
from tests.gateway.callbacks import ENCRYPT_KEY, VERIFICATION_TOKEN, challenge, encrypt, signed_headers
from tests.gateway.conftest import make_settings, published_questions, running_gateway, wait_for_questions

RECEIVE = "/feishu/receive"


@pytest.fixture
async def encrypted_gateway(
    nats_url: str, feishu: FakeFeishu, nats_client: Client
) -> AsyncIterator[httpx.AsyncClient]:
    """http mode with token and encrypt key; the bot's open_id is asked from the fake open platform."""
    settings = make_settings(
        nats_url,
        feishu.base_url,
        feishu_event_mode="http",
        feishu_bot_open_id="",
        feishu_verification_token=VERIFICATION_TOKEN,
        feishu_encrypt_key=ENCRYPT_KEY,
    )
    async with running_gateway(settings) as client:
        yield client


@pytest.fixture
async def token_gateway(
    nats_url: str, feishu: FakeFeishu, nats_client: Client
) -> AsyncIterator[httpx.AsyncClient]:
    """http mode with a verification token only (the app does not encrypt)."""
    settings = make_settings(
        nats_url, feishu.base_url, feishu_event_mode="http", feishu_verification_token=VERIFICATION_TOKEN
    )
    async with running_gateway(settings) as client:
        yield client


async def post_encrypted(
    client: httpx.AsyncClient, payload: dict[str, Any], **signing: Any
) -> httpx.Response:
    body = encrypt(payload)
    return await client.post(RECEIVE, content=body, headers=signed_headers(body, **signing))


async def test_url_check_answered_after_the_token_check(token_gateway: httpx.AsyncClient) -> None:
    """The challenge is echoed for the right token and refused with 401 for a wrong one."""
    answered = await token_gateway.post(RECEIVE, json=challenge())
    assert (answered.status_code, answered.json()) == (200, {"challenge": "ch-123"})
    assert (await token_gateway.post(RECEIVE, json=challenge("forged"))).status_code == 401


async def test_encrypted_url_check_answered(encrypted_gateway: httpx.AsyncClient) -> None:
    """With an encrypt key the challenge arrives encrypted and is answered in plain JSON."""
    answered = await encrypted_gateway.post(RECEIVE, content=encrypt(challenge()))
    assert (answered.status_code, answered.json()) == (200, {"challenge": "ch-123"})


async def test_encrypted_event_is_decrypted_and_published_once(
    encrypted_gateway: httpx.AsyncClient, nats_client: Client, feishu: FakeFeishu
) -> None:
    """A signed, encrypted @mention is published (bot open_id learnt from bot-info); a re-delivery is not."""
    event = message_event("@_user_1 checkout 报错 最近2小时")
    assert (await post_encrypted(encrypted_gateway, event)).status_code == 200
    assert (await post_encrypted(encrypted_gateway, event)).status_code == 200
    [question] = await wait_for_questions(nats_client, 1)
    assert (question.text, question.services) == ("checkout 报错 最近2小时", ["checkout"])
    assert feishu.calls("/open-apis/bot/v3/info")


@pytest.mark.parametrize(
    "forgery",
    ["wrong token", "wrong signature", "stale signature", "plain body", "wrong key"],
)
async def test_forged_or_stale_events_get_401_and_publish_nothing(
    encrypted_gateway: httpx.AsyncClient, nats_client: Client, forgery: str
) -> None:
    """Each forgery is refused with 401 and nothing reaches NATS."""
    event = message_event()
    if forgery == "wrong token":
        event["header"]["token"] = "forged"
    body = (
        json.dumps(event).encode()
        if forgery == "plain body"
        else encrypt(event, "other-key" if forgery == "wrong key" else ENCRYPT_KEY)
    )
    headers = signed_headers(body, timestamp=time.time() - 600 if forgery == "stale signature" else None)
    if forgery == "wrong signature":
        headers["X-Lark-Signature"] = "0" * 64
    response = await encrypted_gateway.post(RECEIVE, content=body, headers=headers)
    assert response.status_code == 401
    assert await published_questions(nats_client) == []


async def test_token_only_events_checked_and_card_clicks_answered(
    token_gateway: httpx.AsyncClient, nats_client: Client
) -> None:
    """Without an encrypt key a wrong header token gets 401; a card click gets a toast and a question."""
    forged = message_event()
    forged["header"]["token"] = "forged"
    assert (await token_gateway.post(RECEIVE, json=forged)).status_code == 401
    click = card_click_event({"alertname": "CartLatency", "service": "cart"}, "2026-11-24T09:30:00Z")
    answered = await token_gateway.post("/webhook/event", json=click)
    assert answered.status_code == 200
    assert answered.json()["toast"]["type"] == "info"
    [question] = await wait_for_questions(nats_client, 1)
    assert (question.text, question.services) == ("分析告警 CartLatency", ["cart"])
