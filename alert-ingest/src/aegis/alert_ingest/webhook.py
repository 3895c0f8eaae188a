"""`POST /alertmanager/webhook`: Alertmanager's notification in, one JetStream-acked event out.

The order of the checks is the order of their cost: token, declared type and size, then the body
read under the limit, parsed, normalised and published. 200 means JetStream has stored the event
(or already had it: Alertmanager's retries carry the same `Nats-Msg-Id`); 503 means "retry", which
Alertmanager does for any 5xx; 4xx means retrying the same request cannot help.
"""

import time
from datetime import UTC, datetime

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aegis.alert_ingest.auth import BearerTokenCheck
from aegis.alert_ingest.metrics import IngestMetrics
from aegis.alert_ingest.payload import log_context, parse_webhook
from aegis.alert_ingest.publisher import AlertPublisher, EventTooLarge, PublishUnavailable
from aegis.alert_ingest.rejections import Rejection
from aegis.alert_ingest.request_body import check_content_length, check_content_type, read_limited
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.alerts import AlertGroupEvent, normalise

WEBHOOK_PATH = "/alertmanager/webhook"
# Alertmanager ignores it (it backs off on its own); other senders may honour it.
RETRY_AFTER_S = 5

_ACCEPTED = '{{"status":"accepted","event_id":"{}","duplicate":{},"alerts":{}}}'

log = structlog.get_logger("aegis.alert_ingest.webhook")


def webhook_route(settings: IngestSettings, publisher: AlertPublisher, metrics: IngestMetrics) -> Route:
    """The route of the Alertmanager webhook, bound to one app's publisher and metrics.

    A plain Starlette route, not a FastAPI path operation: the body is parsed here from raw bytes,
    so FastAPI's dependency solving and response serialisation would only add cost per request.
    """
    token_check = BearerTokenCheck(settings.aegis_webhook_token)
    limit = settings.webhook_max_body_bytes

    async def alertmanager_webhook(request: Request) -> Response:
        body = b""
        event: AlertGroupEvent | None = None
        try:
            headers = request.headers
            token_check.check(headers.get("authorization"))
            check_content_type(headers.get("content-type"))
            check_content_length(headers.get("content-length"), limit)
            body = await read_limited(request.stream(), limit)
            event = normalise(parse_webhook(body), datetime.now(UTC))
            duplicate = await _publish(publisher, metrics, event)
        except Rejection as rejection:
            return _refuse(rejection, metrics, event, body, _peer(request))
        except ClientDisconnect:
            # The sender gave up mid-body (Alertmanager's own timeout, say): nothing was published,
            # nobody reads an answer, and it is not this service's error.
            log.info("sender disconnected before the body was complete", peer=_peer(request))
            return Response(status_code=400)

        for alert in event.alerts:
            metrics.alert_received(alert.status)
        if duplicate:
            metrics.duplicates.inc()
        # One line per accepted group costs a third of the handler's time (measured with
        # bench/ingest.py); the stream itself records every event, so this line is DEBUG. A
        # duplicate (Alertmanager retried after a lost answer) is rare and worth seeing: INFO.
        (log.info if duplicate else log.debug)(
            "alert group accepted",
            event_id=event.event_id,
            group_key=event.group_key,
            receiver=event.receiver,
            status=event.status,
            alerts=len(event.alerts),
            duplicate=duplicate,
        )
        # event_id is hex and the rest are a bool and an int: formatting is safe and skips json.dumps.
        accepted = _ACCEPTED.format(event.event_id, "true" if duplicate else "false", len(event.alerts))
        return Response(accepted, media_type="application/json")

    return Route(WEBHOOK_PATH, alertmanager_webhook, methods=["POST"], name="alertmanager_webhook")


async def _publish(publisher: AlertPublisher, metrics: IngestMetrics, event: AlertGroupEvent) -> bool:
    started = time.perf_counter()
    try:
        return await publisher.publish_alert(event)
    except PublishUnavailable as error:
        raise Rejection(
            503,
            "nats_unavailable",
            f"cannot hand the alert group to NATS now ({error}); retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    except EventTooLarge as error:
        raise Rejection(
            413, "too_large", f"{error}; lower max_alerts in the Alertmanager webhook receiver"
        ) from None
    finally:
        metrics.publish_seconds.observe(time.perf_counter() - started)


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def _refuse(
    rejection: Rejection, metrics: IngestMetrics, event: AlertGroupEvent | None, body: bytes, peer: str | None
) -> Response:
    metrics.rejected(rejection.reason)
    if event is not None:
        context = {"event_id": event.event_id, "group_key": event.group_key, "receiver": event.receiver}
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
    return JSONResponse(rejection.body(), status_code=rejection.status_code, headers=rejection.headers)
