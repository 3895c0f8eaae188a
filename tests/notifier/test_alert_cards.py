"""Alert delivery end to end through the real notifier, nats-server and lark-oapi client."""

import asyncio

from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import alert_event
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier, publish
from aegis.devkit.harness.waiting import wait_for
from aegis.notifier.sinks import render_text


async def test_firing_alert_becomes_one_card_with_at_all(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A firing group reaches the default chat as one card naming alert, severity, service, summary, @all."""
    async with run_notifier():
        await publish(nats_client, alert_event())
        await wait_for(lambda: feishu.sent(CHAT), what="a card in the chat")
        await asyncio.sleep(0.5)
    [message] = feishu.sent(CHAT)
    card = message.card()
    text = message.text
    assert message.msg_type == "interactive"
    assert card["header"]["template"] == "red"
    assert "PaymentHighErrorRate" in card["header"]["title"]["content"]
    assert "CRITICAL" in card["header"]["title"]["content"]
    assert "service=`payment`" in text
    assert "payment 5xx ratio above 5% for 5m" in text
    assert "<at id=all></at>" in text
    assert message.uuid


async def test_same_event_twice_shows_once(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """An event stored twice (no dedup id) still yields one message: the card record catches it."""
    event = alert_event()
    async with run_notifier():
        await publish(nats_client, event, msg_id=False)
        await wait_for(lambda: feishu.sent(CHAT), what="first card")
        await publish(nats_client, event, msg_id=False)
        await asyncio.sleep(1.0)
    assert len(feishu.sent(CHAT)) == 1


async def test_resolve_patches_the_original_card(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A resolve turns the group's firing card green in place instead of posting anew."""
    async with run_notifier():
        await publish(nats_client, alert_event())
        await wait_for(lambda: feishu.sent(CHAT), what="firing card")
        await publish(nats_client, alert_event(status="resolved"))
        await wait_for(lambda: feishu.sent(CHAT)[0].patches, what="the patch")
    [message] = feishu.posted(CHAT)  # (its thread holds the timeline)
    patched = message.card()
    assert patched["header"]["template"] == "green"
    assert "<at id=all></at>" not in message.current


async def test_resolve_of_unknown_group_sends_a_resolved_card(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """With no card on record for the group, the resolve is posted as a green card of its own."""
    async with run_notifier():
        await publish(nats_client, alert_event(status="resolved", name="DiskFull"))
        await wait_for(lambda: feishu.sent(CHAT), what="resolved card")
    [message] = feishu.sent(CHAT)
    assert message.card()["header"]["template"] == "green"


async def test_alert_text_cannot_mention_people(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """`<at ...>` inside an annotation is escaped; only the configured @all stays a mention."""
    evil = 'boom <at user_id="all">everyone</at> <at id=ou_ceo></at>'
    async with run_notifier(notify_at_all_severities=""):
        await publish(nats_client, alert_event(summary=evil))
        await wait_for(lambda: feishu.sent(CHAT), what="card")
    text = feishu.sent(CHAT)[0].text
    assert "<at" not in text
    assert "&lt;at user_id" in text


def test_console_rendering_shows_the_card_text() -> None:
    """The console sink's rendering carries the title and the markdown lines."""
    from aegis.notifier.cards import CardOptions, render_alert_card

    card = render_alert_card(alert_event(), CardOptions())
    shown = render_text("card to chat oc_x", card)
    assert "PaymentHighErrorRate" in shown
    assert "payment 5xx ratio above 5% for 5m" in shown
