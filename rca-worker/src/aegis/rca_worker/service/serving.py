"""Running the worker on the shared skeleton: its FastStream app consumes beside the HTTP server.

The skeleton (`aegis.shared.serving.serve`) serves `/healthz`, `/readyz` and `/metrics` from the
first second — live, and not ready — while the app waits for NATS, so a liveness probe does not
restart a worker that is only waiting. On SIGTERM/SIGINT the consumers stop first (in-flight
analyses get `RCA_SHUTDOWN_GRACE_S`), then the HTTP server.
"""

import asyncio
import contextlib

from faststream.asgi import AsgiFastStream

from aegis.shared.serving import Work


def consuming(app: AsgiFastStream) -> Work:
    """The skeleton's `run`: start the app (connect, declare, consume) and stop it when told."""

    async def run(stopping: asyncio.Event) -> None:
        started = asyncio.Event()

        async def consume() -> None:
            async with app.start_lifespan_context():
                started.set()
                await stopping.wait()

        consumer = asyncio.create_task(consume())
        told = asyncio.create_task(stopping.wait())
        try:
            await asyncio.wait({consumer, told}, return_when=asyncio.FIRST_COMPLETED)
            if not started.is_set():
                consumer.cancel()  # still waiting for NATS: nothing to drain
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        finally:
            told.cancel()

    return run
