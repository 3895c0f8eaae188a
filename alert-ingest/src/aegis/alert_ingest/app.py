"""The one factory of the alert-ingest ASGI app, used by `__main__`, the tests and the benchmark.

Each app owns its publisher; its counters live in the process's one registry (`metrics.py`), and
`/healthz`, `/readyz` and `/metrics` are the shared skeleton's (`aegis.shared.serving`). The
analysis API (`/api/ops/analyze…`) shares the NATS connection.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from aegis.alert_ingest.analysis_api import analysis_router
from aegis.alert_ingest.answers import AnswerWaiter
from aegis.alert_ingest.auth import BearerTokenCheck
from aegis.alert_ingest.edge import BoundedEdge, EdgeLimits
from aegis.alert_ingest.metrics import METRICS, IngestMetrics
from aegis.alert_ingest.openapi import document_webhook
from aegis.alert_ingest.publisher import AlertPublisher
from aegis.alert_ingest.settings import IngestSettings
from aegis.alert_ingest.webhook import WEBHOOK_PATH, WebhookEndpoint, webhook_method_route
from aegis.shared.serving import Health, operations_routes

log = structlog.get_logger("aegis.alert_ingest")


class AlertIngestApp:
    """The ASGI app uvicorn serves: the bounded edge first (`edge.py`), then the webhook's POSTs
    straight to their endpoint, all else to `api`.

    Dispatching before FastAPI is entered keeps its per-request layers (telemetry check, error and
    exception middleware, router) off the one path that carries load: bench/ingest.py measured it.
    """

    def __init__(
        self, api: FastAPI, webhook: WebhookEndpoint, settings: IngestSettings, metrics: IngestMetrics
    ) -> None:
        self.api = api
        self._webhook = webhook
        limits = EdgeLimits(
            max_header_bytes=settings.http_max_header_bytes,
            api_max_body_bytes=settings.api_max_body_bytes,
            body_timeout_s=settings.http_body_timeout_s,
            api_requests_per_minute=settings.api_requests_per_minute,
            api_streams_per_client=settings.api_streams_per_client,
        )
        self._edge = BoundedEdge(
            self._route, limits, BearerTokenCheck(settings.aegis_webhook_token), metrics.rejected
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._edge(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self._webhook(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: IngestSettings) -> AlertIngestApp:
    """alert-ingest: the Alertmanager webhook, the analysis API, health, readiness and metrics."""
    publisher = AlertPublisher(settings)
    metrics = METRICS

    async def health() -> Health:
        return Health(waiting=publisher.not_ready_reason())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        publisher.start()
        auth = "bearer token required" if settings.aegis_webhook_token else "off (AEGIS_WEBHOOK_TOKEN unset)"
        log.info("alert-ingest started", webhook_auth=auth, max_body_bytes=settings.webhook_max_body_bytes)
        try:
            yield
        finally:
            await publisher.close()
            log.info("alert-ingest stopped")

    app = FastAPI(title="Aegis alert-ingest", lifespan=lifespan, routes=[webhook_method_route()])
    app.router.routes.extend(operations_routes(health))
    app.include_router(analysis_router(settings, publisher, AnswerWaiter()))
    app.openapi = lambda: document_webhook(app)  # type: ignore[method-assign]
    return AlertIngestApp(app, WebhookEndpoint(settings, publisher, metrics), settings, metrics)
