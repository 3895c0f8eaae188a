"""`/healthz`, `/readyz` and `/metrics` on the worker's HTTP port (FastStream's ASGI routes).

Live while the process serves HTTP and its NATS connection is not closed for good; ready once the
consumers run on a connected broker, and not while shutting down, so a rolling update stops
sending work to a replica that is leaving.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.asgi import AsgiResponse
from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry, make_asgi_app

Asgi = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]


class Readiness:
    """Whether this replica should be given work."""

    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.consuming = False
        self.warnings: list[str] = []  # said by /readyz without making it fail (e.g. a missing model)

    async def ready(self) -> bool:
        """Consuming, and the NATS connection is up."""
        return self.consuming and await self.broker.ping(timeout=1.0)

    def alive(self) -> bool:
        """False once the NATS connection is closed (not merely reconnecting): a restart helps."""
        connection = getattr(self.broker, "_connection", None)
        return connection is None or not connection.is_closed


def health_routes(readiness: Readiness, registry: CollectorRegistry) -> list[tuple[str, Any]]:
    """The three routes, for `AsgiFastStream(asgi_routes=...)`; `/metrics` serves `registry`."""

    async def healthz(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, status = (b"ok\n", 200) if readiness.alive() else (b"nats connection closed\n", 503)
        await AsgiResponse(body, status, {"content-type": "text/plain"})(scope, receive, send)

    async def readyz(scope: dict[str, Any], receive: Any, send: Any) -> None:
        ok = await readiness.ready()
        body, status = (b"ready\n", 200) if ok else (b"not ready\n", 503)
        body += "".join(f"warning: {w}\n" for w in readiness.warnings).encode()
        await AsgiResponse(body, status, {"content-type": "text/plain"})(scope, receive, send)

    return [("/healthz", healthz), ("/readyz", readyz), ("/metrics", make_asgi_app(registry))]
