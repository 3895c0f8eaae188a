"""Dead-lettering: keep a message that cannot be handled, with why, instead of dropping it.

The original bytes are republished unchanged on `aegis.dlq.<subject>`; what went wrong travels in
headers, so a replay can put the exact message back where it came from. Of the original headers,
JetStream's own (`Nats-Expected-Stream` and the other `Nats-*` publish conditions) are dropped: they
held for the first publish and would make the dead letter's own publish fail.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from aegis.shared.subjects import DLQ_PREFIX, dead_letter_subject

REASON = "Aegis-Dlq-Reason"
SUBJECT = "Aegis-Dlq-Subject"
STREAM = "Aegis-Dlq-Stream"
STREAM_SEQ = "Aegis-Dlq-Stream-Seq"
CONSUMER = "Aegis-Dlq-Consumer"
DELIVERIES = "Aegis-Dlq-Deliveries"
FAILED_AT = "Aegis-Dlq-Failed-At"
ORIGINAL_MSG_ID = "Aegis-Original-Msg-Id"
_JETSTREAM_PREFIX = "nats-"
_MAX_REASON = 2000


@dataclass(frozen=True)
class DeadLetter:
    """What an operator needs to judge a dead letter: where it came from and why it failed."""

    subject: str
    reason: str
    stream: str
    stream_seq: int
    consumer: str
    deliveries: int
    failed_at: str


def _one_line(text: str) -> str:
    return " ".join(text.split())[:_MAX_REASON]


def republishable(headers: dict[str, str] | None) -> dict[str, str]:
    """`headers` without JetStream's publish conditions and ids (`Nats-*`), safe to publish again."""
    return {k: v for k, v in (headers or {}).items() if not k.lower().startswith(_JETSTREAM_PREFIX)}


def dead_letter_headers(msg: Msg, reason: str, now: datetime | None = None) -> dict[str, str]:
    """Headers of the dead letter for `msg`: its safe headers plus the failure's details."""
    meta = msg.metadata
    original_id = (msg.headers or {}).get("Nats-Msg-Id")
    headers = republishable(msg.headers)
    if original_id:
        headers[ORIGINAL_MSG_ID] = original_id
    headers.update(
        {
            REASON: _one_line(reason) or "unspecified",
            SUBJECT: msg.subject,
            STREAM: meta.stream,
            STREAM_SEQ: str(meta.sequence.stream),
            CONSUMER: meta.consumer or "",
            DELIVERIES: str(meta.num_delivered),
            FAILED_AT: (now or datetime.now(UTC)).isoformat(),
            # One dead letter per stored message, however often the dead-lettering is retried.
            "Nats-Msg-Id": f"dlq:{meta.stream}:{meta.sequence.stream}",
        }
    )
    return headers


async def dead_letter(js: JetStreamContext, msg: Msg, reason: str) -> None:
    """Store `msg` on the dead-letter stream, then terminate it so it is never redelivered."""
    await js.publish(dead_letter_subject(msg.subject), msg.data, headers=dead_letter_headers(msg, reason))
    await msg.term()


def read_dead_letter(subject: str, headers: dict[str, str]) -> DeadLetter:
    """The failure details of a message read from the dead-letter stream."""
    return DeadLetter(
        subject=headers.get(SUBJECT, subject.removeprefix(DLQ_PREFIX)),
        reason=headers.get(REASON, ""),
        stream=headers.get(STREAM, ""),
        stream_seq=int(headers.get(STREAM_SEQ, "0") or 0),
        consumer=headers.get(CONSUMER, ""),
        deliveries=int(headers.get(DELIVERIES, "0") or 0),
        failed_at=headers.get(FAILED_AT, ""),
    )
