"""uvicorn's httptools protocol with a deadline for each request's headers.

uvicorn bounds idle keep-alive connections but waits forever for headers that trickle in, so a few
hundred slow clients could hold every connection. Here a connection, and each request on it, must
deliver its complete header block within `HTTP_HEADER_TIMEOUT_S`, else it is answered 408 and
closed. Each protocol only notes when its headers began (no timer per request: bench.ingest
measured timers on the hot path); one sweep a second closes the late ones. The body has its own
deadline in `edge.py`.
"""

import asyncio
import time
from collections.abc import Set as AbstractSet
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def header_deadline_protocol(timeout_s: float) -> type[HttpToolsProtocol]:
    """The protocol class to give `uvicorn.Config(http=...)`."""

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        headers_began: float | None = None
        sweeper: ClassVar[asyncio.Task[None] | None] = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.headers_began = time.monotonic()
            if HeaderDeadlineProtocol.sweeper is None:
                HeaderDeadlineProtocol.sweeper = asyncio.get_running_loop().create_task(
                    _sweep(self.connections, timeout_s)
                )

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.headers_began = time.monotonic()

        def on_headers_complete(self) -> None:
            self.headers_began = None
            super().on_headers_complete()

    return HeaderDeadlineProtocol


async def _sweep(connections: AbstractSet[object], timeout_s: float) -> None:
    """Every second (or half the deadline), answer 408 to and close connections past it."""
    while True:
        await asyncio.sleep(min(1.0, timeout_s / 2))
        now = time.monotonic()
        for connection in list(connections):
            began = getattr(connection, "headers_began", None)
            transport = getattr(connection, "transport", None)
            if began is None or transport is None or now - began <= timeout_s or transport.is_closing():
                continue
            connection.headers_began = None  # type: ignore[attr-defined]
            transport.write(_TIMED_OUT)
            transport.close()
