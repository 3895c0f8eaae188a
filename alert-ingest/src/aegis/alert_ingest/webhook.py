"""`POST /alertmanager/webhook`: Alertmanager's notification in, one JetStream-acked event out.

The order of the checks is the order of their cost: token, declared type and size, then the body
read under the limit, parsed, normalised and published. 200 means JetStream has stored the event
(or already had it: Alertmanager's retries carry the same `Nats-Msg-Id`); 503 means "retry", which
Alertmanager does for any 5xx; 4xx means retrying the same request cannot help.
"""

import json
import time
from datetime import UTC, datetime

import structlog
from opentelemetry.trace import SpanKind
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from aegis.alert_ingest.auth import BearerTokenCheck
from aegis.alert_ingest.metrics import IngestMetrics
from aegis.alert_ingest.payload import log_context, parse_webhook
from aegis.alert_ingest.publisher import AlertPublisher, refusal
from aegis.alert_ingest.rejections import Rejection
from aegis.alert_ingest.request_body import check_content_length, check_content_type, read_limited
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.alerts import AlertmanagerWebhook, alert_event_id, event_json
from aegis.shared.publishing import Accepted
from aegis.shared.subjects import AlertStatus
from aegis.shared.tracing import tracer, tracing_on

WEBHOOK_PATH = "/alertmanager/webhook"
_TOO_LARGE_HINT = "; lower max_alerts in the Alertmanager webhook receiver"

_ACCEPTED = '{{"status":"accepted","event_id":"{}","duplicate":{},"alerts":{}}}'

log = structlog.get_logger("aegis.alert_ingest.webhook")
_TRACER = tracer("aegis.alert_ingest")


class WebhookEndpoint:
    """`POST /alertmanager/webhook` as a bare ASGI app: the one route that carries load.

    It runs ahead of FastAPI (see `AlertIngestApp`): no Request object, no middleware, no dependency
    solving, no response classes; the body is read under the limit, parsed from raw bytes and
    answered with pre-encoded headers. bench/ingest.py measured what each layer cost.
    """

    def __init__(self, settings: IngestSettings, publisher: AlertPublisher, metrics: IngestMetrics) -> None:
        self._token_check = BearerTokenCheck(settings.aegis_webhook_token)
        self._limit = settings.webhook_max_body_bytes
        self._publisher = publisher
        self._metrics = metrics
        self._log_each = settings.log_level == "DEBUG"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not tracing_on():  # a no-op span still costs several µs per webhook
            await self._handle(scope, receive, send)
            return
        with _TRACER.start_as_current_span("POST /alertmanager/webhook", kind=SpanKind.SERVER):
            await self._handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        webhook: AlertmanagerWebhook | None = None
        metrics = self._metrics
        try:
            headers = _headers(scope)
            self._token_check.check(headers.get("authorization"))
            check_content_type(headers.get("content-type"))
            check_content_length(headers.get("content-length"), self._limit)
            body = await read_limited(receive, self._limit)
            webhook = parse_webhook(body)
            event_id, event = event_json(webhook, datetime.now(UTC))
            duplicate = await _publish(self._publisher, metrics, webhook.status, event_id, event)
        except Rejection as rejection:
            await _refuse(send, rejection, metrics, webhook, body, _peer(scope))
            return
        except ClientDisconnect:
            # The sender gave up mid-body (Alertmanager's own timeout, say): nothing was published,
            # nobody reads an answer, and it is not this service's error.
            log.info("sender disconnected before the body was complete", peer=_peer(scope))
            return

        for alert in webhook.alerts:
            metrics.alert_received(alert.status)
        if duplicate:
            metrics.duplicates.inc()
        # One line per accepted group costs a third of the handler's time (measured with
        # bench/ingest.py); the stream itself records every event, so this line is DEBUG, and not
        # even called below DEBUG (the call alone cost µs). A duplicate (Alertmanager retried after
        # a lost answer) is rare and worth seeing: INFO.
        if duplicate or self._log_each:
            (log.info if duplicate else log.debug)(
                "alert group accepted",
                event_id=event_id,
                group_key=webhook.group_key,
                receiver=webhook.receiver,
                status=webhook.status,
                alerts=len(webhook.alerts),
                duplicate=duplicate,
            )
        # event_id is hex and the rest are a bool and an int: formatting is safe and skips json.dumps.
        accepted = _ACCEPTED.format(event_id, "true" if duplicate else "false", len(webhook.alerts))
        await _answer(send, 200, accepted.encode())


def webhook_method_route() -> Route:
    """The webhook's route in the router: reached only by other methods, which get 405."""

    async def method_not_allowed(_request: Request) -> Response:
        return Response(status_code=405, headers={"Allow": "POST"})

    return Route(WEBHOOK_PATH, method_not_allowed, methods=["POST"], name="alertmanager_webhook")


_WANTED = {
    b"authorization": "authorization",
    b"content-type": "content-type",
    b"content-length": "content-length",
}


def _headers(scope: Scope) -> dict[str, str]:
    # ASGI header names are lower-case bytes; latin-1 gives back exactly what was sent.
    return {_WANTED[name]: value.decode("latin-1") for name, value in scope["headers"] if name in _WANTED}


async def _answer(send: Send, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if headers:
        raw.extend((key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _publish(
    publisher: AlertPublisher, metrics: IngestMetrics, status: AlertStatus, event_id: str, event: bytes
) -> bool:
    """Publish `event`; True when JetStream had it already, else the `Rejection` to answer with."""
    started = time.perf_counter()
    outcome = await publisher.publish_alert(status, event_id, event)
    metrics.publish_seconds.observe(time.perf_counter() - started)
    if isinstance(outcome, Accepted):
        return outcome.duplicate
    raise refusal(outcome, "alert group", _TOO_LARGE_HINT)


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


async def _refuse(
    send: Send,
    rejection: Rejection,
    metrics: IngestMetrics,
    webhook: AlertmanagerWebhook | None,
    body: bytes,
    peer: str | None,
) -> None:
    metrics.rejected(rejection.reason)
    if webhook is not None:
        event_id = alert_event_id(webhook)  # again, on the error path only
        context = {"event_id": event_id, "group_key": webhook.group_key, "receiver": webhook.receiver}
    elif rejection.status_code == 422:
        context = log_context(body)
    else:
        context = {}
    log.warning(
        "webhook rejected",
        reason=rejection.reason,
        http_status=rejection.status_code,
        detail=rejection.detail,
        errors=rejection.errors,
        peer=peer,
        **context,
    )
    answer = json.dumps(rejection.body(), ensure_ascii=False).encode()
    await _answer(send, rejection.status_code, answer, rejection.headers)
