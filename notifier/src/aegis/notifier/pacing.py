"""Pacing sends so no chat ever sees more than Feishu's 5 messages a second.

Sends to one chat are spaced evenly (1/rate, plus a margin for network jitter) instead of
bursting: under sustained load that keeps every alert's wait below one interval, and it is what
lets the digest logic coalesce whatever is waiting at each slot. A 429 from Feishu pushes the
chat's next slot out to the reset time it announced.
"""

import asyncio
import time
from collections.abc import Callable

JITTER_MARGIN = 1.06


class ChatPacer:
    """Per-chat next-allowed-send times; `clock` is injectable for tests."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = JITTER_MARGIN / rate_per_s
        self._clock = clock
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def wait_time(self, chat_id: str) -> float:
        """Seconds until `chat_id` may be sent to (0 when it may be now)."""
        return max(0.0, self._next.get(chat_id, 0.0) - self._clock())

    def claim(self, chat_id: str) -> None:
        """Record a send to `chat_id` now: the next one waits one interval."""
        self._next[chat_id] = max(self._next.get(chat_id, 0.0), self._clock()) + self.interval

    def pause(self, chat_id: str, seconds: float) -> None:
        """Feishu said to wait: nothing goes to `chat_id` for `seconds`."""
        self._next[chat_id] = max(self._next.get(chat_id, 0.0), self._clock() + seconds)

    async def ready(self, chat_id: str) -> None:
        """Sleep until `chat_id` may be sent to."""
        # The deadline moves when Feishu pauses the chat, so re-check after each sleep.
        while (delay := self.wait_time(chat_id)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def acquire(self, chat_id: str) -> None:
        """Wait for `chat_id`'s next slot and take it; safe when several loops share one chat."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            await self.ready(chat_id)
            self.claim(chat_id)
