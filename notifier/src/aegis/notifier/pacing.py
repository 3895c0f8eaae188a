"""Pacing sends so no chat ever sees more than Feishu's 5 messages a second.

Sends to one chat are spaced evenly (1/rate, plus a margin for network jitter) instead of
bursting: under sustained load that keeps every alert's wait below one interval, and it is what
lets the digest logic coalesce whatever is waiting at each slot. A rate-limit answer pushes the
chat's next slot out to the reset time Feishu announced. The per-chat limit (230020) is shared by
every bot in the group, so when Feishu says this chat is full the chat is also paced down
(`slow_down`): its interval grows, and eases back towards 1/rate with each send that follows.
"""

import asyncio
import time
from collections.abc import Callable

JITTER_MARGIN = 1.06
SLOW_DOWN_FACTOR = 1.5
MAX_SLOW_DOWN = 4.0
EASE_PER_SEND = 0.97


class ChatPacer:
    """Per-chat next-allowed-send times; `clock` is injectable for tests."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = JITTER_MARGIN / rate_per_s
        self._clock = clock
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._slowed: dict[str, float] = {}

    def wait_time(self, chat_id: str) -> float:
        """Seconds until `chat_id` may be sent to (0 when it may be now)."""
        return max(0.0, self._next.get(chat_id, 0.0) - self._clock())

    def interval_of(self, chat_id: str) -> float:
        """The spacing of sends to `chat_id` now (longer while the chat is paced down)."""
        return self.interval * self._slowed.get(chat_id, 1.0)

    def claim(self, chat_id: str) -> None:
        """Record a send to `chat_id` now: the next one waits one interval."""
        self._next[chat_id] = max(self._next.get(chat_id, 0.0), self._clock()) + self.interval_of(chat_id)
        if chat_id in self._slowed:
            eased = self._slowed[chat_id] * EASE_PER_SEND
            if eased <= 1.0:
                del self._slowed[chat_id]
            else:
                self._slowed[chat_id] = eased

    def slow_down(self, chat_id: str) -> None:
        """Feishu said the chat itself is at its limit (other bots share it): send there more slowly."""
        self._slowed[chat_id] = min(self._slowed.get(chat_id, 1.0) * SLOW_DOWN_FACTOR, MAX_SLOW_DOWN)

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
