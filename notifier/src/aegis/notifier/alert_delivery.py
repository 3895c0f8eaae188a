"""The alert delivery loop: `aegis.alert.>` → Feishu cards, paced, coalesced, retried, never lost.

It pulls from the durable consumer `notifier-alerts` itself (rather than a per-message handler)
because the digest decision needs to see what waits behind the current message. Each event is
acknowledged only after its card was accepted by Feishu and recorded in `aegis_messages`; a
failed send is redelivered with backoff, an event that cannot succeed is dead-lettered.
"""

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from aegis.notifier import metrics
from aegis.notifier.cards import CardOptions, render_alert_card, render_digest_card
from aegis.notifier.consuming import RetryPolicy, schema_problems
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.planning import CardRecord, SlotPlan, judge, plan_slot
from aegis.notifier.sinks import CardSink, PermanentSendError, RateLimited, TransientSendError
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.dead_letters import dead_letter
from aegis.shared.streams import ALERTS_STREAM
from aegis.shared.subjects import ALERTS
from aegis.shared.tracing import consuming

DURABLE = "notifier-alerts"
FETCH_BATCH = 200

log = structlog.get_logger("aegis.notifier.alerts")


@dataclass
class Waiting:
    """An event fetched and not yet acknowledged."""

    msg: Msg
    event: AlertGroupEvent
    touched: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where alert cards go and when they are coalesced; retries follow `retry`."""

    chat_id: str
    digest_after: int
    digest_max: int
    retry: RetryPolicy


class AlertDelivery:
    """Runs until `stop()`; one instance per notifier process."""

    def __init__(
        self,
        nc: Client,
        sink: CardSink,
        pacer: ChatPacer,
        cards: KeyValue,
        policy: DeliveryPolicy,
        options: CardOptions,
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._sink = sink
        self._pacer = pacer
        self._cards = cards
        self._policy = policy
        self._options = options
        self._waiting: list[Waiting] = []
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    def consumer_config(self) -> ConsumerConfig:
        # max_deliver is unlimited on the server: the loop itself dead-letters after
        # `policy.max_deliver`, so an event is never silently abandoned by the server.
        return ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._policy.retry.ack_wait_s,
            max_deliver=-1,
            max_ack_pending=4 * FETCH_BATCH,
        )

    async def run(self) -> None:
        subscription = await self._js.pull_subscribe(
            ALERTS, durable=DURABLE, stream=ALERTS_STREAM, config=self.consumer_config()
        )
        chat = self._policy.chat_id
        log.info("alert delivery started", chat_id=chat, consumer=DURABLE)
        while not self._stopping.is_set():
            try:
                await self._pacer.ready(chat)
                queued = await self._top_up(subscription)
                if self._waiting:
                    await self._deliver_next(queued)
                await self._heartbeat()
            except (ConnectionClosedError, NatsTimeoutError, OSError) as error:
                log.warning("nats unavailable, retrying", error=str(error) or type(error).__name__)
                await asyncio.sleep(0.5)
        await self._release()
        await subscription.unsubscribe()

    async def _top_up(self, subscription: object) -> int:
        """Fetch what is available (waiting up to 1 s when idle); returns how many queue behind."""
        room = FETCH_BATCH - len(self._waiting)
        if room <= 0:
            return 0
        timeout = 0.05 if self._waiting else 1.0
        try:
            msgs: list[Msg] = await subscription.fetch(batch=room, timeout=timeout)  # type: ignore[attr-defined]
        except NatsTimeoutError:
            return 0
        records = await asyncio.gather(*(self._record_for(msg) for msg in msgs))
        for msg, record in zip(msgs, records, strict=True):
            await self._admit(msg, record)
        return msgs[-1].metadata.num_pending if msgs else 0

    async def _record_for(self, msg: Msg) -> CardRecord | None:
        """The card record of the message's group, looked up before admission (None if unknown)."""
        try:
            return await self._record(AlertGroupEvent.model_validate_json(msg.data))
        except ValidationError:
            return None

    async def _admit(self, msg: Msg, record: CardRecord | None) -> None:
        """Decode one message; dead-letter what cannot be handled, drop what is already shown."""
        deliveries = msg.metadata.num_delivered
        try:
            event = AlertGroupEvent.model_validate_json(msg.data)
        except ValidationError as error:
            await self._dead_letter(msg, f"not an AlertGroupEvent: {schema_problems(error)}", "schema")
            return
        if deliveries > self._policy.retry.max_deliver:
            reason = (
                f"gave up after {deliveries - 1} deliveries (the last ended without an outcome: a crash?)"
            )
            await self._dead_letter(msg, reason, "max_deliver")
            return
        if any(w.msg.metadata.sequence.stream == msg.metadata.sequence.stream for w in self._waiting):
            return  # redelivered while still waiting here; the copy we hold will be acked
        verdict = judge(event, record)
        if verdict in ("already_delivered", "superseded"):
            log.info("alert event needs no card", event_id=event.event_id, verdict=verdict)
            await msg.ack()
            return
        self._waiting.append(Waiting(msg=msg, event=event))

    async def _deliver_next(self, queued: int) -> None:
        plan = plan_slot(
            [w.event for w in self._waiting],
            queued,
            self._policy.digest_after,
            self._policy.digest_max,
            self._options,
        )
        chosen = self._waiting[: len(plan.events)]
        chat = self._policy.chat_id
        try:
            await self._pacer.acquire(chat)
            headers = [w.msg.headers for w in chosen]
            with consuming("feishu send alert card", headers[0], links_from=headers[1:]) as span:
                span.set_attribute("aegis.event_ids", [w.event.event_id for w in chosen])
                message_id, kind = await self._send(plan)
                span.set_attribute("feishu.message_id", message_id)
        except RateLimited as limited:
            metrics.RATE_LIMIT_WAITS.inc()
            log.warning("feishu rate limit, pausing chat", chat_id=chat, reset_s=limited.reset_s)
            self._pacer.pause(chat, limited.reset_s)
            return
        except TransientSendError as error:
            metrics.SEND_FAILURES.labels("transient").inc()
            for waiting in chosen:
                deliveries = waiting.msg.metadata.num_delivered
                if deliveries >= self._policy.retry.max_deliver:
                    reason = f"gave up after {deliveries} deliveries: {error}"
                    await self._dead_letter(waiting.msg, reason, "max_deliver")
                    continue
                delay = self._policy.retry.delay(deliveries)
                log.warning(
                    "send failed, will retry",
                    event_id=waiting.event.event_id,
                    error=str(error),
                    retry_in_s=delay,
                )
                await waiting.msg.nak(delay=delay)
            self._forget(chosen)
            return
        except PermanentSendError as error:
            metrics.SEND_FAILURES.labels("permanent").inc()
            for waiting in chosen:
                await self._dead_letter(waiting.msg, str(error), "refused")
            self._forget(chosen)
            return
        metrics.CARDS_SENT.labels(kind).inc()
        now = datetime.now(UTC)
        latest: dict[str, CardRecord] = {}
        for waiting in chosen:  # in order, so a group's latest event wins
            event = waiting.event
            latest[_key(event)] = CardRecord(
                event_id=event.event_id,
                message_id=message_id,
                status=event.status,
                received_at=event.received_at,
                digest=plan.digest,
            )
        await asyncio.gather(
            *(self._cards.put(key, r.model_dump_json().encode()) for key, r in latest.items())
        )
        await asyncio.gather(*(waiting.msg.ack() for waiting in chosen))
        for waiting in chosen:
            event = waiting.event
            metrics.ALERT_GROUPS_DELIVERED.labels("digest" if plan.digest else "card").inc()
            metrics.DELIVERY_SECONDS.observe((now - event.received_at).total_seconds())
            log.info("alert card delivered", event_id=event.event_id, message_id=message_id, kind=kind)
        self._forget(chosen)

    async def _send(self, plan: SlotPlan) -> tuple[str, str]:
        """Send (or patch) the card for `plan`; returns the message id and what was done."""
        chat = self._policy.chat_id
        if plan.digest:
            card = render_digest_card(plan.events, self._options)
            uuid = "d" + _digest_uuid(plan.events)
            return await self._sink.send_card(chat, card, uuid), "digest"
        event = plan.events[0]
        card = render_alert_card(event, self._options)
        record = await self._record(event)
        if record is not None and judge(event, record) == "patch":
            await self._sink.patch_card(record.message_id, card)
            return record.message_id, "patch"
        return await self._sink.send_card(chat, card, "a" + event.event_id[:40]), "card"

    async def _record(self, event: AlertGroupEvent) -> CardRecord | None:
        try:
            entry = await self._cards.get(_key(event))
        except NotFoundError:
            return None
        return CardRecord.model_validate_json(entry.value) if entry.value else None

    async def _heartbeat(self) -> None:
        """Tell JetStream that events held here are still being worked on."""
        now = time.monotonic()
        for waiting in self._waiting:
            if now - waiting.touched > self._policy.retry.ack_wait_s / 3:
                await waiting.msg.in_progress()
                waiting.touched = now

    async def _dead_letter(self, msg: Msg, reason: str, kind: str) -> None:
        log.error(
            "alert event dead-lettered",
            subject=msg.subject,
            reason=reason,
            deliveries=msg.metadata.num_delivered,
        )
        await dead_letter(self._js, msg, reason)
        metrics.DEAD_LETTERS.labels(kind).inc()

    async def _release(self) -> None:
        """On stop, hand held events back at once so another notifier can take them."""
        for waiting in self._waiting:
            try:
                await waiting.msg.nak()
            except Exception as error:  # noqa: BLE001 - best effort: ack_wait redelivers anyway
                log.warning("could not release event", error=str(error))
        self._waiting.clear()

    def _forget(self, chosen: list[Waiting]) -> None:
        done = {id(w) for w in chosen}
        self._waiting = [w for w in self._waiting if id(w) not in done]


def _key(event: AlertGroupEvent) -> str:
    return f"group.{event.group_id}"


def _digest_uuid(events: tuple[AlertGroupEvent, ...]) -> str:
    joined = "|".join(sorted(e.event_id for e in events))
    return hashlib.sha256(joined.encode()).hexdigest()[:40]
