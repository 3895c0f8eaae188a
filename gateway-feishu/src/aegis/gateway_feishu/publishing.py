"""Publishing a question exactly once per Feishu event, across re-deliveries, restarts and replicas.

Feishu delivers at least once and re-delivers for up to ~7 hours (after 15 s, 5 min, 1 h, 6 h), to
whichever of the app's connections it picks. Two guards, in order:

1. the `aegis_feishu_events` KV bucket (12 h TTL, shared by every replica, survives restarts):
   an event id found there was published before, so it is acknowledged and dropped;
2. JetStream's `Nats-Msg-Id` (the event id) within the stream's duplicate window, which covers
   the race of two replicas handling the same event at once and a publish whose record failed.

The id is recorded only after JetStream acknowledged the publish. The publish itself is the shared
skeleton's (`aegis.shared.publishing`: `GATEWAY_QUESTIONS`, one `StreamPublisher`, one outcome):
"retry" raises `PublishFailed`, the caller tells Feishu so (or the hand-off retries), and Feishu's
re-delivery finds nothing recorded: nothing is lost. "refused" (a question JetStream can never
take) is logged with the reason and returned as `refused`: re-delivering it cannot help.
"""

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass
from typing import Literal

import structlog
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from opentelemetry.trace import SpanKind

from aegis.shared.publishing import GATEWAY_QUESTIONS, PublishRefused, RetryPublish, StreamPublisher
from aegis.shared.questions import QuestionEvent
from aegis.shared.subjects import question_subject
from aegis.shared.tracing import tracer

SUBJECT = question_subject("feishu")
_KV_KEY = re.compile(r"^[A-Za-z0-9_=-]{1,128}$")
log = structlog.get_logger("aegis.gateway_feishu.publishing")

PublishResult = Literal["published", "duplicate", "refused"]


class PublishFailed(Exception):
    """NATS did not take the question; Feishu must re-deliver the event."""


@dataclass(frozen=True)
class Published:
    result: PublishResult
    seconds: float


def seen_key(event_id: str) -> str:
    """The event id as a KV key (hashed when it has characters a key may not)."""
    return event_id if _KV_KEY.match(event_id) else hashlib.sha256(event_id.encode()).hexdigest()


class QuestionPublisher:
    """Publishes onto `aegis.question.feishu`, once per Feishu event id."""

    def __init__(self, stream: StreamPublisher, seen: KeyValue, timeout_s: float) -> None:
        self._stream = stream
        self._seen = seen
        self._timeout_s = timeout_s

    @property
    def connected(self) -> bool:
        return self._stream.connected

    async def publish_once(
        self, event_id: str, question: QuestionEvent, timeout_s: float | None = None
    ) -> Published:
        """Publish `question` unless `event_id` was published before; raise `PublishFailed` otherwise.

        `timeout_s` bounds the whole (dedupe check, publish, record); by default the publish timeout.
        """
        started = time.perf_counter()
        if not self._stream.connected:
            # While reconnecting nats-py would buffer the request and let it time out: answer now.
            raise PublishFailed("NATS is not connected")
        try:
            result = await asyncio.wait_for(
                self._publish_once(event_id, question), timeout_s or self._timeout_s
            )
        except PublishFailed:
            raise
        except Exception as error:  # timeouts, no responders, disconnects mid-way
            raise PublishFailed(f"{type(error).__name__}: {error}".rstrip(": ")) from error
        return Published(result, time.perf_counter() - started)

    async def _publish_once(self, event_id: str, question: QuestionEvent) -> PublishResult:
        key = seen_key(event_id)
        try:
            await self._seen.get(key)
        except KeyNotFoundError:
            pass
        else:
            return "duplicate"
        with tracer("aegis.gateway_feishu").start_as_current_span(
            "feishu event → question",
            kind=SpanKind.PRODUCER,
            attributes={"aegis.request_id": question.request_id},
        ):
            data = question.model_dump_json().encode()
            outcome = await self._stream.publish(GATEWAY_QUESTIONS, SUBJECT, data, event_id)
        if isinstance(outcome, RetryPublish):
            raise PublishFailed(outcome.reason)
        if isinstance(outcome, PublishRefused):
            log.error(
                "question refused by JetStream; not retried",
                event_id=event_id,
                request_id=question.request_id,
                reason=outcome.reason,
            )
            return "refused"
        try:
            await self._seen.create(key, question.request_id.encode())
        except KeyWrongLastSequenceError:
            return "duplicate"  # another replica recorded it first; JetStream kept one copy
        return "duplicate" if outcome.duplicate else "published"
