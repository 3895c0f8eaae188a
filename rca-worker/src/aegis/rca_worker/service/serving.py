"""Running the worker: health endpoints at once, the consumer once NATS is there, a graceful stop.

uvicorn serves `/healthz`, `/readyz` and `/metrics` from the first second — live, and not ready —
while the app waits for NATS, so a liveness probe does not restart a worker that is only waiting.
SIGTERM/SIGINT are the worker's: they stop the consumer (in-flight analyses get
`RCA_SHUTDOWN_GRACE_S`), then the HTTP server.
"""

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn
from faststream.asgi import AsgiFastStream

from aegis.rca_worker.settings import WorkerSettings


class HealthServer(uvicorn.Server):
    """uvicorn without its own signal handling (the worker stops it after the consumer)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def consume_until(app: AsgiFastStream, stop: asyncio.Event, started: asyncio.Event) -> None:
    """Start the app (connect, declare, consume), run until `stop`, then shut it down gracefully."""
    async with app.start_lifespan_context():
        started.set()
        await stop.wait()


async def serve(app: AsgiFastStream, settings: WorkerSettings) -> None:
    """Serve HTTP and consume until SIGTERM or SIGINT."""
    stop, started = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    server = HealthServer(config)
    http = asyncio.create_task(server.serve())
    consuming = asyncio.create_task(consume_until(app, stop, started))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({consuming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            consuming.cancel()  # still waiting for NATS: nothing to drain
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
    finally:
        stopping.cancel()
        server.should_exit = True
        await http
