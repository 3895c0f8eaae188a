"""Nothing accepted is lost or shown twice: restarts, Feishu throttling and errors, storms, bad data."""

import asyncio
import json
import re
import time

import nats
from nats.aio.client import Client
from prometheus_client import REGISTRY

from aegis.devkit.fakes.feishu import FakeFeishu, FakeMessage
from aegis.devkit.harness.alerts import alert_event
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier, publish
from aegis.devkit.harness.waiting import wait_for
from aegis.shared.consumers import NOTIFIER_ALERTS
from aegis.shared.dead_letters import REASON, SUBJECT
from aegis.shared.streams import DLQ_STREAM, Topology, ensure_streams

ALERT_NAME = re.compile(r"Alert(\d{4})")


def groups_shown(messages: list[FakeMessage]) -> list[int]:
    """Every group number visible in the chat, once per message that shows it."""
    shown: list[int] = []
    for message in messages:
        shown.extend(sorted({int(n) for n in ALERT_NAME.findall(message.current)}))
    return shown


async def publish_groups(client: Client, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        await publish(client, alert_event(name=f"Alert{number:04d}", service=f"svc{number % 12}"))


async def test_groups_published_while_notifier_is_down_are_all_delivered_once(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """50 groups arrive with the notifier stopped; once it starts, each is shown exactly once."""
    async with run_notifier():
        await wait_for(lambda: True)
    await publish_groups(nats_client, 50)
    async with run_notifier():
        await wait_for(
            lambda: len(set(groups_shown(feishu.sent(CHAT)))) == 50, timeout=30, what="50 groups shown"
        )
        await asyncio.sleep(1)
    shown = groups_shown(feishu.sent(CHAT))
    assert sorted(shown) == list(range(50))
    assert feishu.max_sends_in_any_second(CHAT) <= 5


async def test_nats_restart_between_ingest_and_delivery_loses_nothing(
    nats_server: NatsServer, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """Events stored before a nats-server restart are delivered after it, once each."""
    client = await nats.connect(nats_server.url)
    await ensure_streams(client.jetstream(), Topology())
    await publish_groups(client, 10)
    await client.close()
    nats_server.restart()
    async with run_notifier(url=nats_server.url):
        await wait_for(lambda: len(set(groups_shown(feishu.sent(CHAT)))) == 10, timeout=30, what="10 groups")
        nats_server.restart()  # and once more while it runs
        client = await nats.connect(nats_server.url)
        await publish_groups(client, 10, start=10)
        await client.close()
        await wait_for(lambda: len(set(groups_shown(feishu.sent(CHAT)))) == 20, timeout=30, what="20 groups")
        await asyncio.sleep(1)
    assert sorted(groups_shown(feishu.sent(CHAT))) == list(range(20))


async def test_throttling_and_server_errors_delay_but_never_lose_or_duplicate(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """429s with a reset and some 5xx: every group arrives later, once, at ≤ 5 sends/s to the chat."""
    feishu.fail_next(4, status=429, reset_s=1)
    feishu.fail_next(2, status=500)
    feishu.fail_next(3, status=429, reset_s=1)
    feishu.fail_next(1, status=503)
    async with run_notifier(digest_after_waiting=100):
        for number in range(12):
            await publish_groups(nats_client, 1, start=number)
            await asyncio.sleep(0.05)
        await wait_for(lambda: len(set(groups_shown(feishu.sent(CHAT)))) == 12, timeout=60, what="12 groups")
        await asyncio.sleep(1.5)
    assert sorted(groups_shown(feishu.sent(CHAT))) == list(range(12))
    statuses = [r.status for r in feishu.calls()]
    assert statuses.count(429) >= 7
    assert statuses.count(500) + statuses.count(503) == 3
    assert feishu.max_sends_in_any_second(CHAT) <= 5


async def test_events_held_past_the_ack_wait_stay_with_the_notifier(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """Paced to 1 send/s with a 1.5 s ack wait, the last of 5 events waits ~4 s: in-progress
    heartbeats keep every one with this notifier (none redelivered), each shown once."""
    async with run_notifier(digest_after_waiting=100, feishu_chat_rate_per_s=1.0, notifier_ack_wait_s=1.5):
        await publish_groups(nats_client, 5)
        await wait_for(lambda: len(set(groups_shown(feishu.sent(CHAT)))) == 5, timeout=30, what="5 groups")
        info = await nats_client.jetstream().consumer_info(NOTIFIER_ALERTS.stream, NOTIFIER_ALERTS.durable)
    assert info.delivered.consumer_seq == 5, "each event delivered once: none came back after its ack wait"
    assert sorted(groups_shown(feishu.sent(CHAT))) == list(range(5))


async def test_storm_is_coalesced_into_digests_and_drains(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """2,000 groups in 10 s: every group shown once, ≤ 5 sends/s, in few enough messages to drain fast.

    The bound is structural, not timed (this machine is shared): at most 2000/40 digests plus a
    few singles while the backlog builds, i.e. ≤ 70 sends ≈ 15 s at the chat's 4.7 sends/s.
    """
    total = 2000
    async with run_notifier():
        started = time.monotonic()
        for batch in range(20):
            await asyncio.gather(
                *(
                    publish(nats_client, alert_event(name=f"Alert{n:04d}"))
                    for n in range(batch * 100, batch * 100 + 100)
                )
            )
            await asyncio.sleep(max(0.0, started + (batch + 1) * 0.5 - time.monotonic()))
        await wait_for(
            lambda: len(set(groups_shown(feishu.sent(CHAT)))) == total, timeout=90, what="all groups"
        )
    shown = groups_shown(feishu.sent(CHAT))
    assert sorted(shown) == list(range(total)), "every group exactly once"
    assert feishu.max_sends_in_any_second(CHAT) <= 5
    assert len(feishu.sent(CHAT)) <= 70


async def test_undecodable_event_is_dead_lettered_and_delivery_goes_on(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A payload that is no AlertGroupEvent is dead-lettered with its reason; the next alert arrives."""
    js = nats_client.jetstream()
    async with run_notifier():
        await js.publish("aegis.alert.firing", b'{"schema_version": 1, "status": "firing"}')
        await publish(nats_client, alert_event())
        await wait_for(lambda: feishu.sent(CHAT), what="the valid alert's card")
    dead = await js.get_last_msg(DLQ_STREAM, "aegis.dlq.aegis.alert.firing")
    assert dead.headers is not None
    assert dead.headers[SUBJECT] == "aegis.alert.firing"
    assert "not an AlertGroupEvent" in dead.headers[REASON]
    assert "event_id" in dead.headers[REASON]
    assert json.loads(dead.data or b"{}")["status"] == "firing"


async def test_refused_message_is_dead_lettered_with_feishu_reason(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A send Feishu refuses outright is dead-lettered with Feishu's code, msg and log_id, not retried."""
    feishu.fail_next(2, status=400, code=230002)  # bot not in the chat (the card, then without @all)
    async with run_notifier():
        await publish(nats_client, alert_event(name="Refused"))
        await publish(nats_client, alert_event(name="Accepted"))
        await wait_for(lambda: feishu.sent(CHAT), what="the second card")
    dead = await nats_client.jetstream().get_last_msg(DLQ_STREAM, "aegis.dlq.aegis.alert.firing")
    assert dead.headers is not None
    reason = dead.headers[REASON]
    assert "HTTP 400 code 230002" in reason
    assert "Bot/User can NOT be out of the chat." in reason
    assert re.search(r"log_id 20261201\d{12}", reason), reason
    assert "Accepted" in feishu.sent(CHAT)[0].current


async def test_persistent_server_errors_end_in_the_dead_letter_stream(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A card Feishu keeps failing with 5xx is retried with backoff, then dead-lettered naming the count."""
    feishu.fail_next(3, status=502)
    async with run_notifier(notifier_max_deliver=2, notifier_backoff_s="0.2"):
        await publish(nats_client, alert_event(name="Doomed"))
        js = nats_client.jetstream()

        deadline = time.monotonic() + 20
        while (await js.stream_info(DLQ_STREAM)).state.messages == 0:
            assert time.monotonic() < deadline, "no dead letter within 20 s"
            await asyncio.sleep(0.1)
    letter = await nats_client.jetstream().get_last_msg(DLQ_STREAM, "aegis.dlq.aegis.alert.firing")
    assert letter.headers is not None
    assert letter.headers[REASON].startswith("gave up after 2 deliveries: Feishu answered HTTP 502")
    assert [r.status for r in feishu.calls()] == [502, 502]
    assert feishu.sent(CHAT) == []


async def test_dead_letter_depth_is_exported(nats_client: Client) -> None:
    """`aegis_dlq_messages` follows the number of messages waiting in AEGIS_DLQ."""
    from aegis.notifier.service import watch_dead_letters

    js = nats_client.jetstream()
    for n in range(3):
        await js.publish("aegis.dlq.aegis.alert.firing", b"{}", headers={"Nats-Msg-Id": f"dead-{n}"})
    stopped = asyncio.Event()
    watcher = asyncio.create_task(watch_dead_letters(js, stopped, every_s=0.05))
    await wait_for(lambda: REGISTRY.get_sample_value("aegis_dlq_messages") == 3, what="the gauge")
    stopped.set()
    await watcher


async def test_rate_limit_waits_and_messages_sent_are_counted(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A 429 counts one rate-limit wait; the card Feishu then accepts counts one message sent."""

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    waits = value("aegis_notifier_rate_limit_waits_total")
    cards = value("aegis_notifier_cards_sent_total", kind="card")
    feishu.fail_next(1, status=429, reset_s=1)
    async with run_notifier():
        await publish(nats_client, alert_event(name="Counted"))
        await wait_for(
            lambda: value("aegis_notifier_cards_sent_total", kind="card") > cards, what="the card counted"
        )
    assert value("aegis_notifier_rate_limit_waits_total") - waits == 1
    assert value("aegis_notifier_cards_sent_total", kind="card") - cards == 1
    assert [r.status for r in feishu.calls()] == [429, 200]


async def test_a_send_whose_answer_was_lost_is_not_shown_twice(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """Feishu stores a digest but its answer is lost: retried beside new groups, each group shows once.

    The retry meets new groups in the queue (a 429 holds the chat meanwhile), so re-planning would
    form a different digest under a new uuid; the recorded intent sends the old one again instead.
    """
    await publish_groups(nats_client, 12)
    feishu.lose_answers(1)
    async with run_notifier(notifier_backoff_s="1"):
        await wait_for(lambda: feishu.calls(), what="the first digest")
        feishu.fail_next(1, status=429, reset_s=2)
        await publish_groups(nats_client, 5, start=12)
        await wait_for(lambda: len(set(groups_shown(feishu.sent(CHAT)))) == 17, timeout=30, what="17 groups")
        await asyncio.sleep(2)
    assert sorted(groups_shown(feishu.sent(CHAT))) == list(range(17))
    statuses = [r.status for r in feishu.calls()]
    assert 504 in statuses
    assert 429 in statuses
