"""A TCP relay that delays every byte sent to a server: a slow network path to the real nats-server.

Used to make NATS publishes slow without touching the client or the server: each chunk from the
client reaches the server `delay_s` later (order kept, chunks overlap in flight, so throughput is
not cut), and answers come straight back. A JetStream publish then takes about `delay_s` longer.
Runs its own event loop in a thread, like the Feishu fakes, so it serves while the test blocks.
"""

import asyncio
import contextlib
import threading
import time

from aegis.devkit.harness.ports import reserved_socket


class SlowLink:
    """`url` relays to `target_host:target_port` with `delay_s` on the way in; a context manager."""

    def __init__(self, target_host: str, target_port: int, delay_s: float) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self._sock = reserved_socket()  # held from here: `url` is ours before `start`
        self.port: int = self._sock.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="slow-link", daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> "SlowLink":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> "SlowLink":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._relay, sock=self._sock)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        relays = asyncio.all_tasks(self._loop) - {asyncio.current_task()}
        for task in relays:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(
            self._delayed(client_in, server_out), self._pipe(server_in, client_out), return_exceptions=True
        )
        for writer in (client_out, server_out):
            writer.close()

    async def _delayed(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(65536):
                queue.put_nowait((time.monotonic() + self.delay_s, chunk))
        finally:
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(Exception):
                await sender

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
