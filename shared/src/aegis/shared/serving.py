"""The one service skeleton: every Aegis service is probed, scraped, started and stopped this way.

`operations_routes` gives each service the same `/healthz`, `/readyz` and `/metrics`: one body
shape, read on every probe from the `Health` the service reports, and one Prometheus registry per
process (prometheus-client's own, which also carries the process and GC collectors and
FastStream's broker metrics). `serve` runs the service's ASGI app with uvicorn configured once for
all four, and the same shutdown everywhere: SIGTERM/SIGINT first stop the service's own work
(`run`, e.g. consumer loops, which drain), then uvicorn stops accepting, lets in-flight requests
finish and runs the app's lifespan shutdown (which closes NATS). Health answers from the first
second, so a service waiting for NATS is live and not ready rather than restarted.
"""

import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

__all__ = ["GRACEFUL_SHUTDOWN_S", "REGISTRY", "Health", "Probe", "Work", "operations_routes", "serve"]

log = structlog.get_logger("aegis.serving")

# Long enough for in-flight requests to get their JetStream ack, short enough for a pod's
# termination grace period (30 s by default).
GRACEFUL_SHUTDOWN_S = 10


@dataclass(frozen=True)
class Health:
    """What a service says about itself: `failure` only a restart can fix (live and ready fail),
    `waiting` for what is still missing (not ready), `warnings` said by a ready service."""

    failure: str | None = None
    waiting: str | None = None
    warnings: tuple[str, ...] = ()


Probe = Callable[[], Awaitable[Health]]


def operations_routes(probe: Probe) -> list[Route]:
    """`/healthz`, `/readyz` and `/metrics`, reading `probe()` on every request."""

    async def healthz(_request: Request) -> JSONResponse:
        health = await probe()
        if health.failure is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "failing", "reason": health.failure}, status_code=503)

    async def readyz(_request: Request) -> JSONResponse:
        health = await probe()
        reason = health.failure or health.waiting
        body: dict[str, Any] = {"status": "ready"}
        if reason is not None:
            body = {"status": "not ready", "reason": reason}
        if health.warnings:
            body["warnings"] = list(health.warnings)
        return JSONResponse(body, status_code=200 if reason is None else 503)

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


class _Server(uvicorn.Server):
    """uvicorn leaving the signals to `serve`, which stops the service's work before HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def serve(
    app: ASGIApp,
    host: str,
    port: int | None,
    *,
    run: Work | None = None,
    http: Any = "auto",
    lifespan: str = "on",
) -> None:
    """Serve `app` on `host:port`, and `run(stopping)` beside it, until SIGTERM or SIGINT.

    `run` is the service's own work (consumer loops); it must return once `stopping` is set, after
    draining. `port` None serves no HTTP at all (only `run`). `http` is uvicorn's protocol (a class
    or a name). Exits 3 when the server could not start (uvicorn has logged why).
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port or 0,
        http=http,
        lifespan=lifespan,  # type: ignore[arg-type]
        access_log=False,  # routes log what matters themselves
        proxy_headers=False,  # no proxy in front: the peer address is the sender
        server_header=False,
        log_config=None,  # structlog formats every logger (configure_logging)
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = _Server(config) if port is not None else None
    config.load()  # imports the loop and protocol modules now, so the freeze below covers them
    # Everything alive now lives as long as the process. Freezing it keeps the cyclic GC from
    # rescanning it in every full collection: those scans were 20-45 ms pauses every few hundred
    # ms under load (bench/ingest.py).
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(server, run))
    if server is not None and not server.started:
        sys.exit(3)


async def _serve(server: uvicorn.Server | None, run: Work | None) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    http = asyncio.create_task(server.serve(), name="http") if server is not None else None
    work = asyncio.create_task(run(stopping), name="work") if run is not None else None
    stop = asyncio.create_task(stopping.wait(), name="stop")
    try:
        running = {task for task in (http, work, stop) if task is not None}
        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        stopping.set()
        if work is not None:
            try:
                await work
            except Exception:
                log.exception("service stopped by an error")
    finally:
        stop.cancel()
        if server is not None and http is not None:
            server.should_exit = True
            await http
