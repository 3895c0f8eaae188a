"""The one publishing skeleton: every JetStream publish declared here, and one way its outcome ends.

`PUBLISHES` is the table of what each service publishes (subjects, stream, what its `Nats-Msg-Id`
is, how long it waits for the ack), next to the streams and the consumer table; the AsyncAPI file
lists it. `StreamPublisher` is the one publish path of alert-ingest and gateway-feishu, and
`judge_publish` the one pure function that turns what happened — JetStream's ack or any exception —
into `Accepted`, `RetryPublish` ("not now": alert-ingest answers 503 with Retry-After, the gateway
lets Feishu re-deliver or retries) or `PublishRefused` (retrying the same message cannot succeed:
a 4xx naming why from ingest, a logged refusal in the gateway).

Every publish carries a reply subject under one wildcard inbox subscribed once per connection;
acks resolve futures by token and are decoded only when they carry an error or `duplicate`.
`JetStreamContext.publish` cost about 45 µs of CPU more per message (a request per message, the ack
decoded into a dataclass): bench/ingest.py measured the difference. No timer per publish either:
each wait notes its deadline, and one sweep (every tenth of a second at most) fails the late ones.
"""

import asyncio
import itertools
import json
import time
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from aegis.shared import subjects
from aegis.shared.streams import ALERTS_STREAM, QUESTIONS_STREAM
from aegis.shared.tracing import with_trace

# The server answers "no responders" (status 503) when no stream listens on the subject.
_NO_RESPONDERS = "503"
# JetStream refusals that the same message can never get past (see nats-server's errors.json):
# a message over the stream's max_msg_size, an expected stream or last sequence that does not match.
_OVER_MAX_MSG_SIZE = 10054
_FOREVER_REFUSED = frozenset({_OVER_MAX_MSG_SIZE, 10060, 10070, 10071})


@dataclass(frozen=True)
class PublishSpec:
    """One kind of message a service publishes onto a stream, and how long it waits for the ack
    (`timeout_setting`, whose default is `ack_timeout_s`)."""

    service: str
    stream: str
    subjects: tuple[str, ...]
    dedup_id: str
    description: str
    timeout_setting: str
    ack_timeout_s: float = 2.0


INGEST_ALERTS = PublishSpec(
    "alert-ingest",
    ALERTS_STREAM,
    (subjects.alert_subject("firing"), subjects.alert_subject("resolved")),
    "the event_id (a hash of the group and its alerts' states)",
    "Alertmanager notifications, one event per webhook; 200 once stored, 503 + Retry-After when not.",
    "NATS_PUBLISH_TIMEOUT_S",
)
INGEST_QUESTIONS = PublishSpec(
    "alert-ingest",
    QUESTIONS_STREAM,
    (subjects.question_subject("api"),),
    "the request_id",
    "Questions asked over the analysis API; 503 + Retry-After when NATS cannot take them.",
    "NATS_PUBLISH_TIMEOUT_S",
)
INGEST_CANCELS = PublishSpec(
    "alert-ingest",
    QUESTIONS_STREAM,
    (subjects.cancel_subject("{request_id}"),),
    "cancel-<request_id>",
    "A streaming API client went away before its answer: the worker drops the analysis.",
    "NATS_PUBLISH_TIMEOUT_S",
)
GATEWAY_QUESTIONS = PublishSpec(
    "gateway-feishu",
    QUESTIONS_STREAM,
    (subjects.question_subject("feishu"),),
    "the Feishu event_id",
    "Questions asked in Feishu; not taken → Feishu re-delivers (or the hand-off retries).",
    "GATEWAY_PUBLISH_TIMEOUT_S",
)

PUBLISHES: tuple[PublishSpec, ...] = (INGEST_ALERTS, INGEST_QUESTIONS, INGEST_CANCELS, GATEWAY_QUESTIONS)


@dataclass(frozen=True)
class Accepted:
    """JetStream stored the message (or already had it: `duplicate`)."""

    duplicate: bool = False


@dataclass(frozen=True)
class RetryPublish:
    """Not stored now; the same message may succeed later. `no_stream`: declare the streams again."""

    reason: str
    retry_after_s: int = 5
    no_stream: bool = False


@dataclass(frozen=True)
class PublishRefused:
    """Retrying the same message cannot succeed (too large, refused by the stream for good)."""

    reason: str
    too_large: bool = False


PublishOutcome = Accepted | RetryPublish | PublishRefused


class AckError(Exception):
    """JetStream did not store the message: no ack in time, or an error in the ack."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code


class NoStreamError(AckError):
    """No stream listens on the subject (the server answered "no responders")."""


class TooLarge(Exception):
    """The encoded message exceeds the server's max_payload."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the message encodes to {size} bytes, more than NATS accepts ({limit} bytes)")


def judge_publish(error: BaseException | None, duplicate: bool = False) -> PublishOutcome:
    """What a publish that raised `error` (or was acknowledged, `duplicate` or not) comes to."""
    if error is None:
        return Accepted(duplicate)
    if isinstance(error, TooLarge):
        return PublishRefused(str(error), too_large=True)
    if isinstance(error, NoStreamError):
        return RetryPublish(str(error), no_stream=True)
    if isinstance(error, AckError):
        if error.code in _FOREVER_REFUSED:
            return PublishRefused(str(error), too_large=error.code == _OVER_MAX_MSG_SIZE)
        return RetryPublish(str(error))
    if isinstance(error, nats.errors.Error | OSError | TimeoutError):
        return RetryPublish(f"publishing failed: {type(error).__name__}: {error}".rstrip(": "))
    # Anything else: the sender keeps the message and tries again; nothing accepted is lost.
    return RetryPublish(f"publishing failed unexpectedly: {type(error).__name__}: {error}".rstrip(": "))


class StreamPublisher:
    """Publishes onto JetStream and waits for the ack; one per connection, `await start()` once."""

    def __init__(self, nc: Client, ack_timeout_s: float | None = None) -> None:
        self._nc = nc
        self._ack_timeout_s = ack_timeout_s
        self._prefix = nc.new_inbox() + "."
        self._tokens = itertools.count()
        self._waiting: dict[str, _AckWait] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    @property
    def connected(self) -> bool:
        return self._nc.is_connected

    async def start(self) -> None:
        """Subscribe the one reply inbox of this connection."""
        self._subscription = await self._nc.subscribe(self._prefix + "*", cb=self._on_ack)

    async def publish(self, spec: PublishSpec, subject: str, data: bytes, msg_id: str) -> PublishOutcome:
        """Publish one message of `spec` on `subject`, deduplicated by `msg_id`; never raises for NATS."""
        nc = self._nc
        if not nc.is_connected:
            # nats-py would buffer the message and send it after reconnecting; saying "retry" now
            # lets the sender retry instead of waiting here, and the retry is deduplicated.
            return RetryPublish("NATS connection lost; reconnecting")
        if len(data) > nc.max_payload:
            return judge_publish(TooLarge(len(data), nc.max_payload))
        try:
            duplicate = await self._acked(subject, data, msg_id, self._ack_timeout_s or spec.ack_timeout_s)
        except Exception as error:  # noqa: BLE001 - every failure is judged: that is the point
            return judge_publish(error)
        return Accepted(duplicate)

    async def _acked(self, subject: str, data: bytes, msg_id: str, timeout_s: float) -> bool:
        token = str(next(self._tokens))
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._waiting[token] = _AckWait(future, time.monotonic() + timeout_s, timeout_s)
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(min(0.1, timeout_s / 4)), name="ack deadlines")
        try:
            headers = with_trace({"Nats-Msg-Id": msg_id})
            await self._nc.publish(subject, data, reply=self._prefix + token, headers=headers)
            ack = await future
        finally:
            self._waiting.pop(token, None)
        return _read_ack(subject, ack)

    async def _on_ack(self, msg: Msg) -> None:
        wait = self._waiting.get(msg.subject[len(self._prefix) :])
        if wait is not None and not wait.future.done():
            wait.future.set_result(msg)

    async def _sweep(self, period_s: float) -> None:
        """Fail the waits past their deadline; ends once none is left (the next publish restarts it)."""
        try:
            while self._waiting:
                await asyncio.sleep(period_s)
                now = time.monotonic()
                for wait in list(self._waiting.values()):
                    if wait.deadline <= now and not wait.future.done():
                        wait.future.set_exception(
                            AckError(f"JetStream did not acknowledge within {wait.timeout_s:g} s")
                        )
        finally:
            self._sweeper = None


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs several times more
class _AckWait:
    future: asyncio.Future[Msg]
    deadline: float
    timeout_s: float


def _read_ack(subject: str, ack: Msg) -> bool:
    if ack.headers and ack.headers.get("Status") == _NO_RESPONDERS:
        raise NoStreamError(f"no JetStream stream answers on {subject}")
    data = ack.data
    if b'"error"' in data:
        try:
            error = json.loads(data)["error"]
            code, text = error.get("err_code"), error.get("description", error)
        except (ValueError, KeyError, TypeError, AttributeError):
            code, text = None, data[:200].decode(errors="replace")
        raise AckError(f"JetStream refused the message: {text}", code if isinstance(code, int) else None)
    # Duplicates are rare: decode only then (the server writes `"duplicate": true`).
    return b'"duplicate"' in data and bool(json.loads(data).get("duplicate"))
