"""One analysis per alert card and asker within a window, across re-clicks, replicas and restarts.

Every click is its own Feishu event (its own event id), so the event dedupe does not stop a double
click from starting two analyses. The guard claims `card_clicks.click_key` in the shared
`aegis_feishu_events` bucket with the claim's time: a second click by the same person on the same
card within `CLICK_WINDOW_S` is answered but starts nothing. A claim whose publish then failed is
released, so the asker's next click is not swallowed (Feishu does not re-deliver card callbacks).
"""

import time

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

CLICK_WINDOW_S = 600.0


class ClickGuard:
    """Claims (card, asker) keys in a KV bucket; `now` is injectable for tests."""

    def __init__(self, bucket: KeyValue, window_s: float = CLICK_WINDOW_S) -> None:
        self._bucket = bucket
        self._window_s = window_s

    async def claim(self, key: str, now: float | None = None) -> bool:
        """True when this click is the first for `key` within the window (and now holds it)."""
        stamp = time.time() if now is None else now
        value = f"{stamp:.3f}".encode()
        try:
            await self._bucket.create(key, value)
            return True
        except KeyWrongLastSequenceError:
            pass
        try:
            entry = await self._bucket.get(key)
        except KeyNotFoundError:  # released or purged meanwhile
            return await self._retry_create(key, value)
        try:
            claimed_at = float((entry.value or b"0").decode())
        except ValueError:
            claimed_at = 0.0
        if stamp - claimed_at < self._window_s:
            return False
        try:
            await self._bucket.update(key, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return False  # another replica took the new window first
        return True

    async def release(self, key: str) -> None:
        """Give the claim back (its publish failed): the next click may start the analysis."""
        await self._bucket.delete(key)

    async def _retry_create(self, key: str, value: bytes) -> bool:
        try:
            await self._bucket.create(key, value)
        except KeyWrongLastSequenceError:
            return False
        return True
