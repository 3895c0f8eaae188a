"""The one factory of the gateway's ASGI app, used by `__main__`, the tests and the benchmark.

Both modes serve the skeleton's `/healthz`, `/readyz` and `/metrics` (`aegis.shared.serving`) on
HTTP_PORT; http mode adds the Feishu callback. The app's lifespan starts and stops the `Gateway`
(and with it the long connection), so the skeleton's SIGTERM handling is the gateway's graceful
shutdown. Each app owns its gateway; the counters live in the process's one registry.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aegis.gateway_feishu.http_callback import callback_router
from aegis.gateway_feishu.metrics import METRICS
from aegis.gateway_feishu.service import Gateway
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.shared.serving import operations_routes


def create_app(settings: GatewaySettings) -> FastAPI:
    """gateway-feishu: health, readiness, metrics, and in http mode the event callback."""
    gateway = Gateway(settings, METRICS)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(title="Aegis gateway-feishu", lifespan=lifespan)
    app.state.gateway = gateway
    if settings.feishu_event_mode == "http":
        app.include_router(callback_router(settings, gateway))
    app.router.routes.extend(operations_routes(gateway.health))
    return app
