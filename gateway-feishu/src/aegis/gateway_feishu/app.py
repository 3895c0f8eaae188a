"""The one factory of the gateway's ASGI app, used by `__main__`, the tests and the benchmark.

Both modes serve `/healthz`, `/readyz` and `/metrics` on HTTP_PORT; http mode adds the Feishu
callback. The app's lifespan starts and stops the `Gateway` (and with it the long connection), so
uvicorn's SIGTERM handling is the gateway's graceful shutdown. Each app owns its gateway and
metrics registry: nothing module-global besides lark's one long connection per process.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse

from aegis.gateway_feishu.http_callback import callback_router
from aegis.gateway_feishu.metrics import EXPOSITION_CONTENT_TYPE, GatewayMetrics
from aegis.gateway_feishu.service import Gateway
from aegis.gateway_feishu.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> FastAPI:
    """gateway-feishu: health, readiness, metrics, and in http mode the event callback."""
    gateway = Gateway(settings, GatewayMetrics())

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
    app.include_router(_operations_router(gateway))
    return app


def _operations_router(gateway: Gateway) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="200 unless the gateway failed in a way only a restart can fix")
    async def healthz() -> JSONResponse:
        failure = gateway.failure
        if failure is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "failed", "reason": failure}, status_code=503)

    @router.get("/readyz", summary="200 when Feishu events are being taken, else 503 with the reason")
    async def readyz() -> JSONResponse:
        reason = gateway.not_ready_reason()
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)

    @router.get("/metrics", summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        return Response(gateway.metrics.exposition(), media_type=EXPOSITION_CONTENT_TYPE)

    return router
