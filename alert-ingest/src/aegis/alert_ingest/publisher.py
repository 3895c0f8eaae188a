"""Publishing alert groups and API questions onto JetStream, and knowing whether that is possible now.

The service must start, answer `/healthz` and refuse webhooks with 503 while NATS is unreachable
(Alertmanager retries on 5xx), so the connection is made in the background. Every publish goes
through the shared skeleton (`aegis.shared.publishing`: the table's spec, one `StreamPublisher`,
one `PublishOutcome`), and `refusal` is the one place an outcome becomes an HTTP answer: 503 with
Retry-After for "retry", 413/422 naming why for "refused".
"""

import asyncio
import contextlib

import nats.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from aegis.alert_ingest.rejections import Rejection
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.nats import connect_nats
from aegis.shared.publishing import (
    INGEST_ALERTS,
    INGEST_CANCELS,
    INGEST_QUESTIONS,
    Accepted,
    PublishOutcome,
    PublishRefused,
    PublishSpec,
    RetryPublish,
    StreamPublisher,
)
from aegis.shared.questions import QuestionEvent
from aegis.shared.retrying import delays, retrying
from aegis.shared.streams import Topology, ensure_streams
from aegis.shared.subjects import AlertStatus, alert_subject, cancel_subject, question_subject

log = structlog.get_logger("aegis.alert_ingest.publisher")

_DECLARE_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class PublishUnavailable(Exception):
    """There is no NATS connection to subscribe on now (the analysis API's progress): retry later."""


def refusal(outcome: RetryPublish | PublishRefused, what: str, hint: str = "") -> Rejection:
    """The HTTP answer to a publish that was not accepted: the one place it is decided."""
    if isinstance(outcome, RetryPublish):
        return Rejection(
            503,
            "nats_unavailable",
            f"cannot hand the {what} to NATS now ({outcome.reason}); retry later",
            headers={"Retry-After": str(outcome.retry_after_s)},
        )
    if outcome.too_large:
        return Rejection(413, "too_large", f"{outcome.reason}{hint}")
    return Rejection(422, "refused_by_stream", f"JetStream refused the {what}: {outcome.reason}")


class AlertPublisher:
    """The nats-py connection and JetStream context alert-ingest publishes through."""

    def __init__(self, settings: IngestSettings, client_name: str = "aegis-alert-ingest") -> None:
        self._settings = settings
        self._client_name = client_name
        self._timeout = settings.nats_publish_timeout_s
        self._topology = Topology(
            replicas=settings.aegis_stream_replicas, alert_dedup_window_s=settings.alert_dedup_window_s
        )
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._acks: StreamPublisher | None = None
        self._streams_ready = False
        self._background: asyncio.Task[None] | None = None
        self._cancelling: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Connect and declare the streams in the background; returns at once."""
        self._background = asyncio.create_task(self._connect(), name="nats-connect")

    def not_ready_reason(self) -> str | None:
        """Why a webhook could not be published right now, or None when it could."""
        if self._nc is None:
            return "connecting to NATS"
        if not self._nc.is_connected:
            return "NATS connection lost; reconnecting"
        if not self._streams_ready:
            return "declaring the JetStream streams"
        return None

    async def publish_alert(self, status: AlertStatus, event_id: str, event: bytes) -> PublishOutcome:
        """Publish an `AlertGroupEvent`'s JSON (`event_json`) and wait for JetStream's ack
        (`Accepted.duplicate`: it had it already)."""
        return await self._publish(INGEST_ALERTS, alert_subject(status), event, event_id)

    async def publish_question(self, question: QuestionEvent) -> PublishOutcome:
        """Publish a question asked over HTTP and wait for JetStream's ack."""
        data = question.model_dump_json().encode()
        subject = question_subject(question.source)
        return await self._publish(INGEST_QUESTIONS, subject, data, question.request_id)

    async def cancel_question(self, request_id: str) -> PublishOutcome:
        """Tell the worker nobody waits for `request_id` any more (stored: it may not have started)."""
        subject = cancel_subject(request_id)
        return await self._publish(INGEST_CANCELS, subject, b"", f"cancel-{request_id}")

    def cancel_later(self, request_id: str) -> None:
        """`cancel_question` in a task of its own: called where the request's own task is cancelled."""
        task = asyncio.create_task(self._cancel(request_id), name=f"cancel {request_id}")
        self._cancelling.add(task)
        task.add_done_callback(self._cancelling.discard)

    async def _cancel(self, request_id: str) -> None:
        outcome = await self.cancel_question(request_id)
        if not isinstance(outcome, Accepted):
            # The worker answers it for nobody: a waste, not a loss.
            log.warning("could not cancel an abandoned analysis", request_id=request_id, outcome=str(outcome))

    def connection(self) -> Client:
        """The live NATS connection, for subscriptions; `PublishUnavailable` when there is none."""
        reason = self.not_ready_reason()
        if reason is not None or self._nc is None:
            raise PublishUnavailable(reason or "not connected to NATS yet")
        return self._nc

    async def _publish(self, spec: PublishSpec, subject: str, data: bytes, msg_id: str) -> PublishOutcome:
        acks = self._acks
        if acks is None:
            return RetryPublish("not connected to NATS yet")
        outcome = await acks.publish(spec, subject, data, msg_id)
        if isinstance(outcome, RetryPublish) and outcome.no_stream:
            self._redeclare_streams()
        return outcome

    async def close(self) -> None:
        """Stop connecting, flush what was published and close the connection."""
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
        if self._cancelling:
            await asyncio.wait(set(self._cancelling), timeout=self._timeout)
        nc, self._nc, self._js, self._acks = self._nc, None, None, None
        if nc is None or nc.is_closed:
            return
        try:
            await asyncio.wait_for(nc.drain(), timeout=5)
        except (nats.errors.Error, OSError, TimeoutError):
            await nc.close()

    async def _connect(self) -> None:
        nc = await connect_nats(self._settings, self._client_name)
        self._nc, self._js = nc, nc.jetstream(timeout=self._timeout)
        acks = StreamPublisher(nc, self._timeout)
        await acks.start()
        self._acks = acks
        await self._declare_streams()

    async def _declare_streams(self) -> None:
        js = self._js
        if js is None:
            return
        waiting = retrying(
            "cannot declare JetStream streams yet",
            delays(*_DECLARE_RETRY_S),
            retry_on=(nats.errors.Error, OSError),
        )
        await waiting(ensure_streams, js, self._topology)
        self._streams_ready = True
        log.info("ready to publish alerts", client=self._client_name)

    def _redeclare_streams(self) -> None:
        # The server answered but no stream owns the subject: it lost its store (a fresh pod) or
        # someone deleted the stream. Declare it again in the background; webhooks get 503 meanwhile.
        self._streams_ready = False
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._declare_streams(), name="nats-declare")
