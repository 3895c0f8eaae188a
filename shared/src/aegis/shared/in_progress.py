"""Telling JetStream that a message is still being worked on, the one way every consumer does it.

A message held longer than its consumer's ack wait is handed to another consumer unless the holder
says "in progress" (`+WPI`) in time. `keep_in_progress` says it every `every_s` (a third of the ack
wait leaves room for two misses) until cancelled; `in_progress` wraps it around a block. A missed
heartbeat is logged, not raised: at worst the message is redelivered, which the handlers tolerate.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import structlog

log = structlog.get_logger("aegis.in_progress")


class Held(Protocol):
    """A delivered message (nats-py's `Msg`, FastStream's `NatsMessage`)."""

    async def in_progress(self) -> None: ...


async def keep_in_progress(msg: Held, every_s: float) -> None:
    """Say `msg` is in progress every `every_s` seconds, until cancelled."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await msg.in_progress()
        except Exception as error:  # noqa: BLE001 - a missed heartbeat only risks a redelivery
            log.warning("heartbeat failed", error=str(error) or type(error).__name__)


@contextlib.asynccontextmanager
async def in_progress(msg: Held, every_s: float) -> AsyncIterator[None]:
    """`keep_in_progress` while the block runs."""
    beating = asyncio.create_task(keep_in_progress(msg, every_s))
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
