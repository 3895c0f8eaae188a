"""Publishing alert groups onto JetStream, and knowing whether that is possible right now.

The service must start, answer `/healthz` and refuse webhooks with 503 while NATS is unreachable
(Alertmanager retries on 5xx), so the connection is made in the background and every failure to
publish becomes one typed error, `PublishUnavailable`, which the route turns into 503.
"""

import asyncio
import contextlib

import nats.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from aegis.alert_ingest.acked_publish import AckedPublisher, AckError, NoStreamError
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.nats import connect_nats
from aegis.shared.questions import QuestionEvent
from aegis.shared.retrying import delays, retrying
from aegis.shared.streams import Topology, ensure_streams
from aegis.shared.subjects import alert_subject, question_subject

log = structlog.get_logger("aegis.alert_ingest.publisher")

_DECLARE_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class PublishUnavailable(Exception):
    """NATS cannot take the event now (not connected, timeout, no stream, JetStream error): retry later."""


class EventTooLarge(Exception):
    """The encoded event exceeds the server's max_payload: retrying the same body cannot succeed."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the event encodes to {size} bytes, more than NATS accepts ({limit} bytes)")


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
        self._acks: AckedPublisher | None = None
        self._streams_ready = False
        self._background: asyncio.Task[None] | None = None

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

    async def publish_alert(self, event: AlertGroupEvent) -> bool:
        """Publish `event` and wait for JetStream's ack; True when JetStream saw it as a duplicate."""
        return await self._publish(
            alert_subject(event.status), event.model_dump_json().encode(), event.event_id
        )

    async def publish_question(self, question: QuestionEvent) -> None:
        """Publish a question asked over HTTP and wait for JetStream's ack."""
        data = question.model_dump_json().encode()
        await self._publish(question_subject(question.source), data, question.request_id)

    def connection(self) -> Client:
        """The live NATS connection, for subscriptions; `PublishUnavailable` when there is none."""
        reason = self.not_ready_reason()
        if reason is not None or self._nc is None:
            raise PublishUnavailable(reason or "not connected to NATS yet")
        return self._nc

    async def _publish(self, subject: str, data: bytes, msg_id: str) -> bool:
        nc, acks = self._nc, self._acks
        if nc is None or acks is None:
            raise PublishUnavailable("not connected to NATS yet")
        if not nc.is_connected:
            # nats-py would buffer the message and send it after reconnecting; answering 503 now
            # lets the sender retry instead of waiting here, and the retry is deduplicated.
            raise PublishUnavailable("NATS connection lost; reconnecting")
        if len(data) > nc.max_payload:
            raise EventTooLarge(len(data), nc.max_payload)
        try:
            return await acks.publish(subject, data, msg_id)
        except NoStreamError as error:
            self._redeclare_streams()
            raise PublishUnavailable(str(error)) from None
        except AckError as error:
            raise PublishUnavailable(str(error)) from None
        except (nats.errors.Error, OSError) as error:
            raise PublishUnavailable(f"publishing failed: {type(error).__name__}: {error}") from None

    async def close(self) -> None:
        """Stop connecting, flush what was published and close the connection."""
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
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
        acks = AckedPublisher(nc, self._timeout)
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
