"""Replies in the asker's thread: "analysing…" at once, progress while it runs, then the answer.

Three flows share one record per request in `aegis_messages` (`question.<request_id>`): the
acknowledgement card's message id, and whether the answer was shown. The answer replaces the
acknowledgement in place when there is one, else it is posted as a reply; whichever of the two
events arrives first, the thread ends with exactly one answer. When the message to patch or reply
to was recalled or deleted, the card is posted as a new message (in the thread, else the chat).
A per-chat rate limit from Feishu pauses and paces down that chat before the event is retried.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ValidationError

from aegis.notifier import metrics
from aegis.notifier.cards import Card, markdown
from aegis.notifier.claims import CardKeeper
from aegis.notifier.consuming import consume
from aegis.notifier.memory import IncidentMemory
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.reply_cards import LinkOptions, render_ack_card, render_result_card
from aegis.notifier.sinks import CardSink, MessageGone, RateLimited, SendError, note_gone
from aegis.shared.consumers import NOTIFIER_ACKS, NOTIFIER_RESULTS, DeliveryBudget
from aegis.shared.health import Heartbeats
from aegis.shared.questions import QuestionEvent, ReplyTo
from aegis.shared.rca import RcaProgress, RcaResult
from aegis.shared.settings import Locale
from aegis.shared.subjects import progress_subject
from aegis.shared.tracing import consuming

PROGRESS_PATCH_INTERVAL_S = 1.0
log = structlog.get_logger("aegis.notifier.questions")


def _ack_uuid(request_id: str) -> str:
    """The Feishu uuid of a question's acknowledgement (the same every delivery: it shows once)."""
    return f"k{request_id}"[:50]


class QuestionRecord(BaseModel):
    """What the notifier has shown for one question."""

    chat_id: str
    ack_message_id: str | None = None
    answered: bool = False


class QuestionReplies:
    """Runs the acknowledgement, progress and result flows for questions asked in Feishu."""

    def __init__(
        self,
        nc: Client,
        sink: CardSink,
        pacer: ChatPacer,
        records: KeyValue,
        policy: DeliveryBudget,
        links: LinkOptions,
        locale: Locale,
        heartbeats: Heartbeats | None = None,
        memory: IncidentMemory | None = None,
        keeper: CardKeeper | None = None,
    ) -> None:
        self._memory = memory
        self._keeper = keeper
        self._nc = nc
        self._sink = sink
        self._pacer = pacer
        self._records = records
        self._policy = policy
        self._links = links
        self._locale = locale
        self._heartbeats = heartbeats or Heartbeats()
        self._questions: dict[str, QuestionEvent] = {}
        self._progress: dict[str, dict[str, RcaProgress]] = {}
        self._last_patch: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._patches: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        js = self._nc.jetstream()
        progress = await self._nc.subscribe(progress_subject("*"), cb=self._on_progress)
        try:
            await asyncio.gather(
                *(
                    consume(
                        js, spec, handle, self._policy, self.stopping, self._heartbeats.beat(spec.durable)
                    )
                    for spec, handle in ((NOTIFIER_ACKS, self._acknowledge), (NOTIFIER_RESULTS, self._answer))
                )
            )
        finally:
            await progress.unsubscribe()

    async def _acknowledge(self, msg: Msg) -> None:
        question = QuestionEvent.model_validate_json(msg.data)
        structlog.contextvars.bind_contextvars(request_id=question.request_id)
        target = question.reply_to
        if target is None or target.message_id is None or not question.text.strip():
            return  # nothing to reply under, or an empty question the worker answers with help at once
        async with self._lock(question.request_id):
            record = await self._record(question.request_id)
            if record is not None:
                return  # acknowledged before (redelivery) or already answered
            self._questions[question.request_id] = question
            await self._pacer.acquire(target.chat_id)
            with consuming("feishu reply analysing", msg.headers):
                async with self._paced(target.chat_id):
                    message_id = await self._reply_or_post(
                        target, render_ack_card(question, [], self._locale), _ack_uuid(question.request_id)
                    )
            await self._save(
                question.request_id, QuestionRecord(chat_id=target.chat_id, ack_message_id=message_id)
            )
            if self._memory is not None:
                await self._memory.asked(question)
            metrics.CARDS_SENT.labels("ack").inc()

    async def _answer(self, msg: Msg) -> None:
        result = RcaResult.model_validate_json(msg.data)
        structlog.contextvars.bind_contextvars(request_id=result.request_id)
        target = result.reply_to
        if target is None:
            log.warning("result has no reply_to; nothing to answer", request_id=result.request_id)
            return
        card = await self._with_memory(result)
        async with self._lock(result.request_id):
            record = await self._record(result.request_id) or QuestionRecord(chat_id=target.chat_id)
            if record.answered:
                return
            await self._pacer.acquire(target.chat_id)
            with consuming("feishu reply answer", msg.headers):
                async with self._paced(target.chat_id):
                    await self._show(result, target, record, card)
            if self._memory is not None:
                await self._memory.answered(result)
            await self._save(result.request_id, record.model_copy(update={"answered": True}))
        metrics.CARDS_SENT.labels("failure" if result.failed else "answer").inc()
        self._forget(result.request_id)
        log.info(
            "answer delivered", request_id=result.request_id, degraded=result.degraded, failed=result.failed
        )

    async def _with_memory(self, result: RcaResult) -> Card:
        """The answer card, with the alert's runbook in the next actions and what was found last time."""
        target = result.reply_to
        runbook = (
            await self._keeper.runbook(target.message_id)
            if self._keeper and target and target.message_id
            else None
        )
        if runbook and runbook not in result.next_actions:
            result = result.model_copy(update={"next_actions": [*result.next_actions, f"Runbook: {runbook}"]})
        card = render_result_card(result, self._links, self._locale)
        recall = await self._memory.recall_cause(result) if self._memory else None
        if recall:
            card["elements"].append(markdown(recall))
        return card

    async def _show(self, result: RcaResult, target: ReplyTo, record: QuestionRecord, card: Card) -> None:
        """Replace the acknowledgement with `card`, or reply with it when there is none.

        With no acknowledgement on record the reply goes under the acknowledgement's uuid: one sent
        before a crash (or a lost save) is then the message Feishu answers with, and it is patched,
        instead of a second reply under the question.
        """
        ack_id = record.ack_message_id
        if ack_id is None:
            ack_id = await self._reply_or_post(target, card, _ack_uuid(result.request_id))
        try:
            await self._sink.patch_card(ack_id, card)
            return
        except MessageGone as gone:
            note_gone("the analysing card", ack_id, gone)
        await self._reply_or_post(target, card, f"r{result.request_id}"[:50])

    async def _reply_or_post(self, target: ReplyTo, card: Card, uuid: str) -> str:
        """Reply under the asker's message, or post in the chat when there is none (any more)."""
        if target.message_id is not None:
            try:
                return await self._sink.reply_card(
                    target.message_id, card, uuid=uuid, in_thread=target.thread_id is not None
                )
            except MessageGone as gone:
                note_gone("the message to reply to", target.message_id, gone)
        return await self._sink.send_card(target.chat_id, card, uuid=uuid)

    @asynccontextmanager
    async def _paced(self, chat_id: str) -> AsyncIterator[None]:
        """Let a rate limit pause the chat (and pace it down when it is the chat's own limit)."""
        try:
            yield
        except RateLimited as limited:
            self._pacer.pause(chat_id, limited.reset_s)
            if limited.per_chat:
                self._pacer.slow_down(chat_id)
            raise

    async def _on_progress(self, msg: Msg) -> None:
        """Patch the acknowledgement with the steps so far, at most once a second, never blocking."""
        try:
            progress = RcaProgress.model_validate_json(msg.data)
        except ValidationError as error:
            log.warning("ignoring malformed progress", subject=msg.subject, error=str(error))
            return
        request_id = progress.request_id
        question = self._questions.get(request_id)
        if question is None:
            return  # not asked in Feishu, or acknowledged by an earlier notifier process
        self._progress.setdefault(request_id, {})[progress.step] = progress
        now = time.monotonic()
        chat = question.reply_to.chat_id if question.reply_to else ""
        if now - self._last_patch.get(request_id, 0.0) < PROGRESS_PATCH_INTERVAL_S or self._pacer.wait_time(
            chat
        ):
            return
        self._last_patch[request_id] = now
        task = asyncio.create_task(self._patch_progress(question, chat))
        self._patches.add(task)
        task.add_done_callback(self._patches.discard)

    async def _patch_progress(self, question: QuestionEvent, chat: str) -> None:
        async with self._lock(question.request_id):
            record = await self._record(question.request_id)
            if record is None or record.answered or record.ack_message_id is None:
                return
            steps = list(self._progress.get(question.request_id, {}).values())
            try:
                self._pacer.claim(chat)
                await self._sink.patch_card(
                    record.ack_message_id, render_ack_card(question, steps, self._locale)
                )
            except SendError as error:
                log.info("progress update skipped", request_id=question.request_id, error=str(error))

    async def _record(self, request_id: str) -> QuestionRecord | None:
        try:
            entry = await self._records.get(f"question.{request_id}")
        except KeyNotFoundError:
            return None
        return QuestionRecord.model_validate_json(entry.value) if entry.value else None

    async def _save(self, request_id: str, record: QuestionRecord) -> None:
        await self._records.put(f"question.{request_id}", record.model_dump_json().encode())

    def _lock(self, request_id: str) -> asyncio.Lock:
        return self._locks.setdefault(request_id, asyncio.Lock())

    def _forget(self, request_id: str) -> None:
        for table in (self._questions, self._progress, self._last_patch, self._locks):
            table.pop(request_id, None)

    def stop(self) -> None:
        self.stopping.set()
