"""Every Feishu answer is acted on as the real platform means it: nothing lost, nothing shown twice.

Against the real notifier, nats-server and lark-oapi client; the fake answers as FEISHU.md's
"Limits and errors" says Feishu does (230020 rate limits, @all refusals, revoked tokens, 230049,
1500, recalled messages, 30 KB request bodies).
"""

import asyncio
import re

import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from aegis.devkit.fakes.feishu import CARD_LIMIT, FakeFeishu
from aegis.devkit.harness.alerts import alert_event
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier, publish
from aegis.devkit.harness.waiting import wait_for
from aegis.notifier.cards import AT_ALL
from aegis.notifier.sinks import FeishuSink
from aegis.shared.streams import DLQ_STREAM

ALERT_NAME = re.compile(r"Alert(\d{4})")
NO_AT_ALL_NOTE = "本群不允许机器人 @所有人"


def shown(feishu: FakeFeishu) -> list[int]:
    """Every group number visible in the chat, once per message that shows it."""
    numbers: list[int] = []
    for message in feishu.sent(CHAT):
        numbers.extend(sorted({int(n) for n in ALERT_NAME.findall(message.current)}))
    return numbers


async def dead_letters(client: Client) -> int:
    return (await client.jetstream().stream_info(DLQ_STREAM)).state.messages


@pytest.mark.parametrize("status", [400, 200])
async def test_chat_limit_on_every_fifth_send_loses_and_repeats_nothing(
    status: int, nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """230020 on every fifth send (HTTP 400 or 200): 200 groups each show exactly once, no dead letter."""
    feishu.chat_limit_every(5, status=status)
    async with run_notifier():
        for number in range(200):
            await publish(nats_client, alert_event(name=f"Alert{number:04d}", service=f"svc{number % 9}"))
        await wait_for(lambda: len(set(shown(feishu))) == 200, timeout=90, what="200 groups shown")
        await asyncio.sleep(1)
    assert sorted(shown(feishu)) == list(range(200))
    assert [r.status for r in feishu.calls()].count(status) >= 1
    assert sum(1 for r in feishu.requests if r.status == status and r.method == "POST") >= 1
    assert await dead_letters(nats_client) == 0
    assert feishu.max_sends_in_any_second(CHAT) <= 5


async def test_restricted_at_all_shows_every_alert_once_without_mention_with_note(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """In a group where only admins may @all, each alert shows once, without the mention, with the note."""
    feishu.restrict_at_all(CHAT)
    before = REGISTRY.get_sample_value("aegis_notifier_at_all_refused_chats_total") or 0.0
    async with run_notifier():
        for number in range(4):
            await publish(nats_client, alert_event(name=f"Alert{number:04d}"))
            await asyncio.sleep(0.3)
        await wait_for(lambda: len(set(shown(feishu))) == 4, timeout=30, what="4 groups shown")
        await asyncio.sleep(0.5)
    assert sorted(shown(feishu)) == list(range(4))
    for message in feishu.sent(CHAT):
        assert AT_ALL not in message.current
        assert NO_AT_ALL_NOTE in message.current
    assert REGISTRY.get_sample_value("aegis_notifier_at_all_refused_chats_total") == before + 1
    assert await dead_letters(nats_client) == 0


async def test_revoked_token_is_replaced_and_the_next_alert_goes_out_in_one_retry(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """After a token revocation the SDK's cached token is dropped: the next alert needs one retry."""
    try:
        async with run_notifier():
            await publish(nats_client, alert_event(name="Alert0000"))
            await wait_for(lambda: len(shown(feishu)) == 1, what="the first card")
            issued = feishu.tokens_issued
            feishu.revoke_token()
            await publish(nats_client, alert_event(name="Alert0001"))
            await wait_for(lambda: len(shown(feishu)) == 2, timeout=10, what="the card after revocation")
        creates = feishu.calls(method="POST")
        assert [r.status for r in creates] == [200, 400, 200]
        assert feishu.tokens_issued == issued + 1
    finally:
        # The SDK's token cache is process-wide: the next test's fake issues the first token again.
        FeishuSink(feishu.app_id, feishu.app_secret, feishu.base_url, 5.0).drop_cached_token()


@pytest.mark.parametrize(
    ("status", "code", "delivered"), [(400, 230049, True), (200, 1500, False), (400, 1500, False)]
)
async def test_ambiguous_and_internal_answers_are_retried_under_the_same_uuid(
    status: int,
    code: int,
    delivered: bool,
    nats_client: Client,
    feishu: FakeFeishu,
    run_notifier: RunNotifier,
) -> None:
    """230049 "being sent" (maybe sent) and 1500 "retry later": retried with the same uuid, shown once."""
    feishu.fail_next(1, status=status, code=code, delivered=delivered)
    async with run_notifier():
        await publish(nats_client, alert_event(name="Alert0000"))
        await wait_for(lambda: any(r.status == 200 for r in feishu.calls(method="POST")), what="a retry")
        await asyncio.sleep(0.5)
    assert shown(feishu) == [0]
    uuids = {r.body["uuid"] for r in feishu.calls(method="POST")}
    assert len(uuids) == 1
    assert await dead_letters(nats_client) == 0


async def test_alert_of_200_kb_escapable_text_shows_as_one_card_under_30_kb(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """200 KB of `<&>` in an alert's text: one card, its request ≤ 30 KB, the text cut with "…"."""
    event = alert_event(name="Alert0000", summary="<&>" * 68_000)
    async with run_notifier():
        await publish(nats_client, event)
        await wait_for(lambda: feishu.sent(CHAT), what="the card")
        await asyncio.sleep(0.5)
    [message] = feishu.sent(CHAT)
    [create] = feishu.calls(method="POST")
    assert len(create.body["content"].encode()) < CARD_LIMIT
    assert "&lt;&amp;&gt;" in message.current
    assert "…" in message.current
    assert await dead_letters(nats_client) == 0


async def test_resolve_of_a_recalled_card_posts_a_new_one(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """The firing card was recalled: its resolve cannot patch it, so it is posted as a new card."""
    async with run_notifier():
        await publish(nats_client, alert_event(name="Alert0000"))
        await wait_for(lambda: feishu.sent(CHAT), what="the firing card")
        [firing] = feishu.sent(CHAT)
        feishu.recall(firing.message_id)
        await publish(nats_client, alert_event(name="Alert0000", status="resolved"))
        await wait_for(lambda: feishu.sent(CHAT), what="the resolved card")
        await asyncio.sleep(0.5)
    [resolved] = feishu.posted(CHAT)  # and the timeline in its thread
    assert resolved.message_id != firing.message_id
    assert resolved.card()["header"]["template"] == "green"
    assert [r.status for r in feishu.calls(method="PATCH")] == [400]
    assert await dead_letters(nats_client) == 0
