"""Consumer loops report that they are alive, so that readiness can tell a live service from one
whose loop died or hangs while its HTTP port still answers.

Each loop calls its beat after every fetch (at least once a second while idle); a loop that has
not beaten for `stale_after_s` — ended, crashed or stuck — makes `/readyz` and `/healthz` fail.
"""

import time
from collections.abc import Callable


class Heartbeats:
    """The last beat of each named loop."""

    def __init__(self, stale_after_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._last: dict[str, float] = {}
        self._stale_after_s = stale_after_s
        self._clock = clock

    def beat(self, loop: str) -> Callable[[], None]:
        """The callback `loop` calls to say it is alive; registering it counts as its first beat."""
        self._last[loop] = self._clock()

        def alive() -> None:
            self._last[loop] = self._clock()

        return alive

    def stale(self) -> list[str]:
        """Loops that have not beaten recently."""
        now = self._clock()
        return sorted(name for name, last in self._last.items() if now - last > self._stale_after_s)

    def loops(self) -> list[str]:
        """Every loop that registered."""
        return sorted(self._last)
