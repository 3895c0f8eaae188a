"""`/healthz`, `/readyz` and `/metrics` of the notifier, on `NOTIFIER_METRICS_PORT`.

The notifier has no other HTTP surface; before these routes its liveness probe was "the metrics
port answers", which stayed true after its alert loop had died. Now `/healthz` fails when a
consumer loop ended or hangs or the NATS connection is closed (a restart helps), `/readyz` also
while NATS is disconnected.
"""

import asyncio
import contextlib
from collections.abc import Callable

import uvicorn
from prometheus_client import REGISTRY, make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

Health = Callable[[], tuple[bool, bool, str]]


def health_app(health: Health) -> Starlette:
    """The three routes, reading `health()` on every probe."""

    async def healthz(_request: Request) -> JSONResponse:
        alive, _, why = health()
        return JSONResponse({"status": "ok" if alive else "failing", "detail": why}, 200 if alive else 503)

    async def readyz(_request: Request) -> JSONResponse:
        _, ready, why = health()
        status = "ready" if ready else "not ready"
        return JSONResponse({"status": status, "detail": why}, 200 if ready else 503)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/metrics", make_asgi_app(REGISTRY)),
        ]
    )


async def serve_health(health: Health, port: int, stopped: asyncio.Event) -> None:
    """Serve `health_app` on `port` (all interfaces: the kubelet probes it) until `stopped`."""
    config = uvicorn.Config(
        health_app(health),
        host="0.0.0.0",  # noqa: S104 - probed by the kubelet over the pod network
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await stopped.wait()
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
