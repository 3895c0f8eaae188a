"""Waiting for the answer to a question asked over HTTP.

One subscription on `aegis.rca.result.api` per process hands each result to the request that is
waiting for it (by request id); every replica sees every API result and keeps only its own.
Progress is subscribed per request, before the question is published, so no step is missed.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from aegis.shared.rca import RcaProgress, RcaResult
from aegis.shared.subjects import progress_subject, result_subject

log = structlog.get_logger("aegis.alert_ingest.answers")


class AnswerWaiter:
    """Futures for API results, fed by one subscription per connection."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[RcaResult]] = {}
        self._subscription: Subscription | None = None
        self._client: Client | None = None

    async def attach(self, client: Client) -> None:
        """Subscribe to API results on `client` (again after a new connection)."""
        if self._client is client and self._subscription is not None:
            return
        self._client = client
        self._subscription = await client.subscribe(result_subject("api"), cb=self._on_result)
        await client.flush()

    @asynccontextmanager
    async def expecting(self, request_id: str) -> AsyncIterator[asyncio.Future[RcaResult]]:
        """A future for `request_id`'s result, registered before anything is published."""
        future: asyncio.Future[RcaResult] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            yield future
        finally:
            self._waiting.pop(request_id, None)

    async def _on_result(self, msg: Msg) -> None:
        try:
            result = RcaResult.model_validate_json(msg.data)
        except ValidationError as error:
            log.warning("ignoring malformed result", error=str(error))
            return
        future = self._waiting.get(result.request_id)
        if future is not None and not future.done():
            future.set_result(result)


@asynccontextmanager
async def progress_of(client: Client, request_id: str) -> AsyncIterator[asyncio.Queue[RcaProgress]]:
    """A queue of `request_id`'s progress events while the block runs."""
    queue: asyncio.Queue[RcaProgress] = asyncio.Queue()

    async def on_progress(msg: Msg) -> None:
        try:
            queue.put_nowait(RcaProgress.model_validate_json(msg.data))
        except ValidationError as error:
            log.warning("ignoring malformed progress", error=str(error))

    subscription = await client.subscribe(progress_subject(request_id), cb=on_progress)
    await client.flush()
    try:
        yield queue
    finally:
        await subscription.unsubscribe()
