"""Dropping an API analysis nobody waits for: its streaming client went away.

alert-ingest publishes `aegis.question.cancel.<request_id>` onto the questions stream when an SSE
client disconnects before its answer. Two ways it reaches the analysis: a core subscription
cancels one that is running in this replica, and a stream look-up before each API analysis
drops one that was cancelled while it still queued (or while another replica held it). Either
way the question is acknowledged without an answer and the worker's slot is free at once.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from faststream.nats import NatsMessage
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from aegis.shared.streams import QUESTIONS_STREAM
from aegis.shared.subjects import cancel_subject

log = structlog.get_logger("aegis.rca_worker.cancels")
T = TypeVar("T")


class Cancelled:
    """The analysis was dropped: nobody waits for its answer."""


CANCELLED = Cancelled()


class Cancellations:
    """The API analyses running in this replica, each cancellable by its request id."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._cancelled: set[str] = set()

    async def heard(self, msg: NatsMessage) -> None:
        """A cancel on `aegis.question.cancel.<request_id>`: cancel that analysis if it runs here."""
        request_id = msg.raw_message.subject.rpartition(".")[2]
        task = self._running.get(request_id)
        if task is not None and not task.done():
            log.info("analysis cancelled: its asker went away", request_id=request_id)
            self._cancelled.add(request_id)
            task.cancel()

    async def unless_cancelled(
        self, js: JetStreamContext, request_id: str, work: Callable[[], Awaitable[T]]
    ) -> T | Cancelled:
        """`work()`'s result, or `CANCELLED` when its question was cancelled before or while it ran."""

        async def run() -> T:
            return await work()

        task: asyncio.Task[T] = asyncio.create_task(run(), name=f"analysis {request_id}")
        self._running[request_id] = task
        try:
            if await _cancelled_before(js, request_id):
                log.info("question cancelled before its analysis started", request_id=request_id)
                self._cancelled.add(request_id)
                task.cancel()
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if request_id in self._cancelled and (current is None or not current.cancelling()):
                return CANCELLED
            raise
        finally:
            self._running.pop(request_id, None)
            self._cancelled.discard(request_id)
            if not task.done():
                task.cancel()


async def _cancelled_before(js: JetStreamContext, request_id: str) -> bool:
    try:
        await js.get_last_msg(QUESTIONS_STREAM, cancel_subject(request_id))
    except NotFoundError:
        return False
    except (NatsError, OSError, TimeoutError) as error:
        # Not knowing is no reason to refuse: the analysis runs, the live subscription may still cancel it.
        reason = str(error) or type(error).__name__
        log.warning("could not look up a cancel", request_id=request_id, error=reason)
        return False
    return True
