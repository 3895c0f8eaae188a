"""A loopback HTTP server in a thread with its own event loop, for the fakes of external peers.

The fakes run beside code that blocks (lark-oapi fetches its token with `requests`), so they must
not share the test's event loop.
"""

import asyncio
import threading
import time

import uvicorn
from starlette.types import ASGIApp


class ThreadedServer:
    """uvicorn serving `app` on 127.0.0.1:`port`; `loop` is the server's loop once started."""

    def __init__(self, app: ASGIApp, port: int, name: str) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._name = name
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self._name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._server.serve())
