"""Taking each question's NATS publish off lark-oapi's only event loop, so every ACK is immediate.

lark-oapi runs the event handler synchronously on the one loop that also reads frames and writes
every ACK: a handler that waits for NATS there holds back every other event, and with a slow
JetStream five simultaneous events were acknowledged after 1–5 s, past Feishu's 3 s. So the
handler only decides (in lark's thread) and `submit`s; the publish runs on the service's loop,
and the ACK goes out at once.

What is acknowledged must still reach NATS: a submitted question is retried on the service loop
(with backoff, each attempt bounded by `ATTEMPT_TIMEOUT_S`) until JetStream takes it, and `drain`
waits for the outstanding ones at shutdown. When NATS is not connected, or `MAX_OUTSTANDING`
questions already wait, `submit` raises `PublishFailed` instead: lark answers 500 and Feishu
re-delivers, so nothing is acknowledged that this process cannot hold on to.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable

import structlog

from aegis.gateway_feishu.publishing import PublishFailed
from aegis.shared.retrying import delays, retrying

log = structlog.get_logger("aegis.gateway_feishu.handoff")

MAX_OUTSTANDING = 2000
ATTEMPT_TIMEOUT_S = 10.0
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)

Attempt = Callable[[float], Awaitable[object]]


class PublishHandoff:
    """Runs publishes on `loop`, retrying until they succeed; `submit` is called from lark's thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, connected: Callable[[], bool], limit: int = MAX_OUTSTANDING
    ) -> None:
        self._loop = loop
        self._connected = connected
        self._limit = limit
        self._outstanding: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    @property
    def outstanding(self) -> int:
        with self._lock:
            return len(self._outstanding)

    def submit(self, event_id: str, attempt: Attempt) -> bool:
        """Hand `attempt` to the service loop; raise `PublishFailed` when it cannot be held.

        False when the same event is already being published (a re-delivery): nothing new to do.
        """
        if self._loop.is_closed():
            raise PublishFailed("the service is shutting down")
        if not self._connected():
            raise PublishFailed("NATS is not connected")
        with self._lock:
            if event_id in self._outstanding:
                return False
            if len(self._outstanding) >= self._limit:
                raise PublishFailed(f"{self._limit} questions already wait for NATS")
            self._outstanding.add(event_id)
        try:
            self._loop.call_soon_threadsafe(self._start, event_id, attempt)
        except RuntimeError as error:  # the loop closed in between
            self._done(event_id)
            raise PublishFailed("the service is shutting down") from error
        return True

    async def drain(self, timeout_s: float) -> None:
        """Wait for outstanding publishes; log what is still unpublished when time runs out."""
        deadline = self._loop.time() + timeout_s
        while self.outstanding and (remaining := deadline - self._loop.time()) > 0:
            await asyncio.sleep(0.01)  # lets publishes submitted from lark's thread start
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=remaining)
        with self._lock:
            left = sorted(self._outstanding)
        if left:
            log.error("questions acknowledged to Feishu but not published at shutdown", event_ids=left[:20])
        for task in self._tasks:
            task.cancel()

    def _start(self, event_id: str, attempt: Attempt) -> None:
        task = self._loop.create_task(self._publish(event_id, attempt), name=f"publish {event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, event_id: str, attempt: Attempt) -> None:
        try:
            try:  # the usual case skips the retry machinery (~50 µs a call, GIL time lark waits for)
                await attempt(ATTEMPT_TIMEOUT_S)
                return
            except PublishFailed as error:
                first_failure: PublishFailed | None = error
            waiting = retrying(
                "question not published yet; retrying",
                delays(*RETRY_DELAYS_S),
                retry_on=PublishFailed,
                event_id=event_id,
            )

            async def publish_once() -> None:  # tenacity awaits async functions only, not other callables
                nonlocal first_failure
                if first_failure is not None:  # tenacity logs and waits for the failure already seen
                    failure, first_failure = first_failure, None
                    raise failure
                await attempt(ATTEMPT_TIMEOUT_S)

            await waiting(publish_once)
        finally:
            self._done(event_id)

    def _done(self, event_id: str) -> None:
        with self._lock:
            self._outstanding.discard(event_id)
