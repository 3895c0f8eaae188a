"""The alert delivery loop: `aegis.alert.>` → Feishu cards, paced, coalesced, retried, never lost.

It pulls from the durable consumer `notifier-alerts` itself (rather than a per-message handler)
because the digest decision needs to see what waits behind the current message. Each event is
acknowledged only after its card was accepted by Feishu and recorded in `aegis_messages`; a
failed send is redelivered with backoff, an event that cannot succeed is dead-lettered. What a
failure means is the shared skeleton's `judge` (`aegis.shared.consumers`), whatever was raised: no
event can end the loop.
"""

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from aegis.notifier import metrics
from aegis.notifier.cards import Card, CardOptions, card_json, render_alert_card, render_digest_card
from aegis.notifier.consuming import in_skeleton_terms
from aegis.notifier.mentions import MentionResolver
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.planning import CardRecord, judge, plan_slot
from aegis.notifier.routing import DEFAULT_ROUTE, MentionSpec, Router, Target
from aegis.notifier.sinks import CardSink, MessageGone, RateLimited, note_gone
from aegis.notifier.timeline import IncidentTrail
from aegis.shared import consumers
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.consumers import NOTIFIER_ALERTS, DeliveryBudget, Outcome, Reject, schema_problems, settle
from aegis.shared.in_progress import keep_in_progress
from aegis.shared.tracing import consuming

DURABLE = NOTIFIER_ALERTS.durable
FETCH_BATCH = 200

log = structlog.get_logger("aegis.notifier.alerts")


@dataclass
class Waiting:
    """An event fetched and not yet acknowledged.

    `intent` is the Feishu uuid of a send that began for this event before a crash (or a lost
    ack): such an event goes out again under that uuid, so it shows at most once.
    """

    msg: Msg
    event: AlertGroupEvent
    target: Target
    intent: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message about to be sent (`uuid` set) or patched (`patch_of` set)."""

    card: Card
    kind: str
    uuid: str | None = None
    patch_of: str | None = None


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where alert cards go and when they are coalesced; retries follow `retry`."""

    chat_id: str
    digest_after: int
    digest_max: int
    retry: DeliveryBudget


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
        alive: Callable[[], None] | None = None,
        router: Router | None = None,
        mentions: MentionResolver | None = None,
        trail: IncidentTrail | None = None,
    ) -> None:
        self._trail = trail
        self._alive = alive or (lambda: None)
        self._router = router or Router((), policy.chat_id, MentionSpec())
        self._mentions = mentions or MentionResolver(None)
        self._nc = nc
        self._js = nc.jetstream()
        self._sink = sink
        self._pacer = pacer
        self._cards = cards
        self._policy = policy
        self._options = options
        self._waiting: list[Waiting] = []
        self._beating: dict[int, asyncio.Task[None]] = {}  # in-progress heartbeats of held events
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    def consumer_config(self) -> ConsumerConfig:
        # max_deliver is unlimited on the server: the loop itself dead-letters after
        # `policy.max_deliver`, so an event is never silently abandoned by the server.
        return NOTIFIER_ALERTS.config(self._policy.retry, max_ack_pending=4 * FETCH_BATCH)

    async def run(self) -> None:
        spec = NOTIFIER_ALERTS
        subscription = await self._js.pull_subscribe(
            spec.subject, durable=spec.durable, stream=spec.stream, config=self.consumer_config()
        )
        chat = self._policy.chat_id
        log.info("alert delivery started", chat_id=chat, consumer=DURABLE)
        while not self._stopping.is_set():
            self._alive()
            try:
                await self._pacer.ready(self._waiting[0].target.chat_id if self._waiting else chat)
                queued = await self._top_up(subscription)
                if self._waiting:
                    await self._deliver_next(queued)
            except (ConnectionClosedError, NatsTimeoutError, OSError) as error:
                log.warning("nats unavailable, retrying", error=str(error) or type(error).__name__)
                await asyncio.sleep(0.5)
            except Exception as error:  # noqa: BLE001 - the loop never dies; the held events are judged
                log.error("alert delivery step failed", error=f"{type(error).__name__}: {error}")
                await self._settle_all(list(self._waiting), error)
                await asyncio.sleep(0.1)
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
        decoded = [_decode(msg) for msg in msgs]
        routed = [
            [(event, target) for target in self._router.targets(event)]
            for event in decoded
            if isinstance(event, AlertGroupEvent)
        ]
        records = await asyncio.gather(
            *(self._record(event, target.chat_id) for pairs in routed for event, target in pairs)
        )
        known = iter(records)
        targeted = iter([[(target, next(known)) for _, target in pairs] for pairs in routed])
        for msg, event in zip(msgs, decoded, strict=True):
            if isinstance(event, ValidationError):
                await self._dead_letter(msg, f"not an AlertGroupEvent: {schema_problems(event)}", "schema")
                continue
            try:
                await self._admit(msg, event, next(targeted))
            except Exception as error:  # noqa: BLE001 - one event's poison is that event's outcome
                await self._settle(
                    msg, consumers.judge(error, msg.metadata.num_delivered, self._policy.retry)
                )
        return msgs[-1].metadata.num_pending if msgs else 0

    async def _admit(
        self, msg: Msg, event: AlertGroupEvent, targeted: list[tuple[Target, CardRecord | None]]
    ) -> None:
        """Dead-letter what was tried too often, drop what each chat already shows, hold the rest."""
        deliveries = msg.metadata.num_delivered
        spent = consumers.overdue(deliveries, self._policy.retry)
        if spent is not None:
            await self._dead_letter(msg, spent.reason, "max_deliver")
            return
        if any(w.msg.metadata.sequence.stream == msg.metadata.sequence.stream for w in self._waiting):
            return  # redelivered while still waiting here; the copy we hold will be acked
        held = []
        for target, record in targeted:
            verdict = judge(event, record)
            if verdict in ("already_delivered", "superseded"):
                log.info(
                    "alert event needs no card",
                    event_id=event.event_id,
                    verdict=verdict,
                    chat_id=target.chat_id,
                )
                continue
            # Only a redelivery can follow a send that began: first deliveries skip the lookup.
            intent = await self._intent_of(event, target.chat_id) if deliveries > 1 else None
            held.append(Waiting(msg=msg, event=event, target=target, intent=intent))
        if not held:
            await msg.ack()
            return
        self._waiting.extend(held)
        # Held past the ack wait (paced, or a long digest), it would be redelivered without this.
        every_s = self._policy.retry.ack_wait_s / 3
        self._beating[id(msg)] = asyncio.create_task(keep_in_progress(msg, every_s))

    async def _deliver_next(self, queued: int) -> None:
        chosen = self._next_batch(queued)
        events = tuple(w.event for w in chosen)
        chat = chosen[0].target.chat_id
        try:
            outgoing = await self._compose(chosen)
            await self._pacer.acquire(chat)
            headers = [w.msg.headers for w in chosen]
            with consuming("feishu send alert card", headers[0], links_from=headers[1:]) as span:
                span.set_attribute("aegis.event_ids", [event.event_id for event in events])
                message_id = await self._send(outgoing, chat)
                span.set_attribute("feishu.message_id", message_id)
            kind = outgoing.kind
            digest = len(events) > 1
            if self._trail is not None and not digest:
                await self._trail.delivered(
                    events[0], outgoing.card, message_id, chat, outgoing.kind == "patch"
                )
        except RateLimited as limited:
            metrics.RATE_LIMIT_WAITS.inc()
            log.warning(
                "feishu rate limit, pausing chat",
                chat_id=chat,
                reset_s=limited.reset_s,
                per_chat=limited.per_chat,
            )
            self._pacer.pause(chat, limited.reset_s)
            if limited.per_chat:
                self._pacer.slow_down(chat)
            return
        except Exception as error:  # noqa: BLE001 - a failed send, or a poison event: judged either way
            await self._settle_all(chosen, in_skeleton_terms(error))
            return
        metrics.CARDS_SENT.labels(kind).inc()
        now = datetime.now(UTC)
        latest: dict[str, CardRecord] = {}
        for waiting in chosen:  # in order, so a group's latest event wins
            event = waiting.event
            latest[_key(event, chat)] = CardRecord(
                event_id=event.event_id,
                message_id=message_id,
                status=event.status,
                received_at=event.received_at,
                digest=digest,
            )
        await asyncio.gather(
            *(self._cards.put(key, r.model_dump_json().encode()) for key, r in latest.items())
        )
        self._forget(chosen)
        # An event routed to several chats is acknowledged once its last chat has its card.
        held = {id(w.msg) for w in self._waiting}
        done = {id(w.msg): w.msg for w in chosen if id(w.msg) not in held}
        await asyncio.gather(*(msg.ack() for msg in done.values()))
        for waiting in chosen:
            event = waiting.event
            metrics.ALERT_GROUPS_DELIVERED.labels("digest" if digest else "card").inc()
            metrics.DELIVERY_SECONDS.observe((now - event.received_at).total_seconds())
            log.info(
                "alert card delivered",
                event_id=event.event_id,
                message_id=message_id,
                kind=kind,
                chat_id=chat,
            )

    def _next_batch(self, queued: int) -> list[Waiting]:
        """What the next message carries: an interrupted send first, else what `plan_slot` says."""
        first = self._waiting[0]
        chat = first.target.chat_id
        if first.intent is not None:
            return [w for w in self._waiting if w.intent == first.intent and w.target.chat_id == chat]
        fresh = [w for w in self._waiting if w.intent is None and w.target.chat_id == chat]
        plan = plan_slot(
            [w.event for w in fresh],
            queued,
            self._policy.digest_after,
            self._policy.digest_max,
            self._options_for(first.target),
        )
        return fresh[: len(plan.events)]

    async def _compose(self, chosen: list[Waiting]) -> Outgoing:
        """The card for `chosen`, and — before anything is sent — the intent that makes it resendable."""
        events = tuple(w.event for w in chosen)
        target = chosen[0].target
        chat = target.chat_id
        options = self._options_for(target)
        if chosen[0].intent is not None:
            uuid = chosen[0].intent
            stored = await self._stored_card(uuid)
            card = stored or render_digest_card(events, options)
            return Outgoing(card, "resend", uuid=uuid)
        if len(events) == 1:
            event = events[0]
            record = await self._record(event, chat)
            recall = await self._trail.recall(event) if self._trail else None
            options = replace(options, mentions=await self._mentions.mentions(target, event), recall=recall)
            card = render_alert_card(event, options)
            if record is not None and judge(event, record) == "patch":
                if self._trail is not None:
                    card = await self._trail.keeping_claim(card, record.message_id)
                # Idempotent: no intent needed. The uuid is for a new card should the old one be gone.
                return Outgoing(
                    card, "patch", uuid="a" + _digest_uuid(events, chat), patch_of=record.message_id
                )
            outgoing = Outgoing(card, "card", uuid="a" + _digest_uuid(events, chat))
        else:
            outgoing = Outgoing(
                render_digest_card(events, options), "digest", uuid="d" + _digest_uuid(events, chat)
            )
        assert outgoing.uuid is not None
        await self._cards.put(f"intent.{outgoing.uuid}", card_json(outgoing.card).encode())
        await asyncio.gather(
            *(self._cards.put(_pending_key(e, chat), outgoing.uuid.encode()) for e in events)
        )
        return outgoing

    def _options_for(self, target: Target) -> CardOptions:
        """The card options in `target`'s chat: a route's @all severities replace the default's."""
        if target.route == DEFAULT_ROUTE:
            return replace(self._options, chat_id=target.chat_id)
        severities = frozenset(s.lower() for s in target.mention.at_all_severities)
        return replace(
            self._options, chat_id=target.chat_id, at_all_severities=None if "*" in severities else severities
        )

    async def _send(self, outgoing: Outgoing, chat: str) -> str:
        """Send or patch; returns the message id."""
        assert outgoing.uuid is not None
        if outgoing.patch_of is not None:
            try:
                await self._sink.patch_card(outgoing.patch_of, outgoing.card)
                return outgoing.patch_of
            except MessageGone as gone:
                note_gone("the card to update", outgoing.patch_of, gone)
                await self._pacer.acquire(chat)
        return await self._sink.send_card(chat, outgoing.card, outgoing.uuid)

    async def _intent_of(self, event: AlertGroupEvent, chat: str) -> str | None:
        try:
            entry = await self._cards.get(_pending_key(event, chat))
        except NotFoundError:
            return None
        return entry.value.decode() if entry.value else None

    async def _stored_card(self, uuid: str) -> Card | None:
        try:
            entry = await self._cards.get(f"intent.{uuid}")
        except NotFoundError:
            return None
        if not entry.value:
            return None
        stored: Card = json.loads(entry.value)
        return stored

    async def _record(self, event: AlertGroupEvent, chat: str) -> CardRecord | None:
        try:
            entry = await self._cards.get(_key(event, chat))
        except NotFoundError:
            return None
        return CardRecord.model_validate_json(entry.value) if entry.value else None

    async def _settle_all(self, chosen: list[Waiting], error: Exception) -> None:
        """Each event of `chosen` retried later or dead-lettered, as the skeleton judges `error`.

        An event is settled once, and what is held of it for other chats goes with it: its
        redelivery skips the chats that already show its card.
        """
        msgs = {id(w.msg): w.msg for w in chosen}
        for msg in msgs.values():
            await self._settle(msg, consumers.judge(error, msg.metadata.num_delivered, self._policy.retry))
        self._forget([w for w in self._waiting if id(w.msg) in msgs])

    async def _settle(self, msg: Msg, outcome: Outcome) -> None:
        if isinstance(outcome, Reject):
            metrics.DEAD_LETTERS.labels("refused").inc()
        await settle(self._js, msg, outcome)

    async def _dead_letter(self, msg: Msg, reason: str, kind: str) -> None:
        await settle(self._js, msg, Reject(reason))
        metrics.DEAD_LETTERS.labels(kind).inc()

    async def _release(self) -> None:
        """On stop, hand held events back at once so another notifier can take them."""
        for msg in {id(w.msg): w.msg for w in self._waiting}.values():
            try:
                await msg.nak()
            except Exception as error:  # noqa: BLE001 - best effort: ack_wait redelivers anyway
                log.warning("could not release event", error=str(error))
        self._waiting.clear()
        self._stop_beating()

    def _forget(self, chosen: list[Waiting]) -> None:
        done = {id(w) for w in chosen}
        self._waiting = [w for w in self._waiting if id(w) not in done]
        self._stop_beating()

    def _stop_beating(self) -> None:
        """End the heartbeats of events no longer held."""
        held = {id(w.msg) for w in self._waiting}
        for key in [key for key in self._beating if key not in held]:
            self._beating.pop(key).cancel()


def _decode(msg: Msg) -> AlertGroupEvent | ValidationError:
    try:
        return AlertGroupEvent.model_validate_json(msg.data)
    except ValidationError as error:
        return error


def card_key(group_id: str, chat: str) -> str:
    """The `aegis_messages` key of a group's card in one chat (the same group in two chats: two cards)."""
    return f"group.{group_id}.{_chat_key(chat)}"


def _key(event: AlertGroupEvent, chat: str) -> str:
    return card_key(event.group_id, chat)


def _pending_key(event: AlertGroupEvent, chat: str) -> str:
    return f"pending.{event.event_id}.{_chat_key(chat)}"


def _chat_key(chat: str) -> str:
    """A chat id as a KV key token (chat ids are `oc_` and letters; anything else is hashed)."""
    if chat.replace("_", "").replace("-", "").isalnum() and chat.isascii() and len(chat) <= 100:
        return chat
    return hashlib.sha256(chat.encode()).hexdigest()[:32]


def _digest_uuid(events: tuple[AlertGroupEvent, ...], chat: str) -> str:
    joined = "|".join([*sorted(e.event_id for e in events), chat])
    return hashlib.sha256(joined.encode()).hexdigest()[:40]
