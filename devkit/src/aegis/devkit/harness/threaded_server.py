"""A real uvicorn serving an ASGI app on a loopback port from a thread with its own event loop.

The one way the harness serves an ASGI app over real HTTP: the Feishu fakes (which run beside code
that blocks — lark-oapi fetches its token with `requests` — so they must not share the test's event
loop) and alert-ingest under test (`serving_ingest`, with its lifespan). uvicorn is handed a socket
already bound (`reserved_socket`), so no other process can take the port between choosing and serving.
"""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

from aegis.devkit.harness.ports import reserved_socket


class ThreadedServer:
    """uvicorn serving `app` on `sock` (bound, on 127.0.0.1, which it closes when it stops); `loop` is
    the server's loop once started."""

    def __init__(
        self, app: ASGIApp, sock: socket.socket, name: str, lifespan: Literal["on", "off"] = "off"
    ) -> None:
        port: int = sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._name = name
        self.url = f"http://127.0.0.1:{port}"
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Serve until `stop`; returns once listening, fails when the server stopped or took too long."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self._name} stopped while starting (its lifespan failed?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self._name} did not start within {timeout:g}s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Let the server finish (its lifespan's shutdown included) and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        finally:
            self._sock.close()


class ServedFake:
    """A fake peer whose ASGI app (`app()`) a `ThreadedServer` serves on a port of its own, from
    `start()` (or entering the `with` block) to `stop()`; `base_url` is known before it starts: the
    port is held from construction, and bound again (the same port) when a stopped fake restarts."""

    server_name = "fake"

    def __init__(self) -> None:
        self._sock: socket.socket | None = reserved_socket()
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedServer | None = None

    def app(self) -> ASGIApp:
        """The fake's routes."""
        raise NotImplementedError

    def start(self) -> None:
        """Serve a fresh app on `port` (a stopped fake can start again)."""
        sock, self._sock = self._sock or reserved_socket(self.port), None
        self._server = ThreadedServer(self.app(), sock, self.server_name)
        self._server.start()

    def stop(self) -> None:
        """Stop serving, if it was."""
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@asynccontextmanager
async def serving(app: ASGIApp, name: str) -> AsyncIterator[str]:
    """`app` with its lifespan served on a free loopback port until the block ends; yields its URL."""
    server = ThreadedServer(app, reserved_socket(), name, lifespan="on")
    await asyncio.to_thread(server.start)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)
