"""Waiting for an observable effect in tests, with a bound and a clear failure."""

import asyncio
import time
from collections.abc import Callable


async def wait_for(
    condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> None:
    """Poll `condition()` until it is truthy, or fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(interval)
