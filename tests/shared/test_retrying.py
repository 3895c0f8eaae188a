"""Every wait for something that comes back is one tenacity policy: named errors only, logged, bounded."""

from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from aegis.shared.retrying import backoff, delays, retrying


class NotYet(Exception):
    pass


def flaky(failures: int, error: Exception) -> tuple[list[int], Callable[[int], Awaitable[int]]]:
    calls: list[int] = []

    async def call(value: int) -> int:
        calls.append(value)
        if len(calls) <= failures:
            raise error
        return value

    return calls, call


async def test_retries_the_named_error_logging_each_wait_then_returns() -> None:
    """Two NotYet, then the value; each wait is one warning naming the error, the delay and the fields."""
    calls, call = flaky(2, NotYet("still down"))
    with capture_logs() as logs:
        waiting = retrying("peer not reachable yet", delays(0.01, 0.02), retry_on=NotYet, peer="x")
        result: int = await waiting(call, 7)

    assert result == 7
    assert calls == [7, 7, 7]
    assert [(e["event"], e["error"], e["retry_in_s"], e["peer"]) for e in logs] == [
        ("peer not reachable yet", "still down", 0.01, "x"),
        ("peer not reachable yet", "still down", 0.02, "x"),
    ]


async def test_other_errors_are_raised_at_once() -> None:
    """An error not named is not retried."""
    calls, call = flaky(1, ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        await retrying("waiting", delays(0.01), retry_on=NotYet)(call, 1)
    assert calls == [1]


async def test_the_last_error_is_raised_as_itself_when_attempts_run_out() -> None:
    """With `attempts`, the final failure propagates unchanged (not tenacity's RetryError)."""
    calls, call = flaky(5, NotYet("gone"))
    with pytest.raises(NotYet, match="gone"):
        await retrying("waiting", backoff(0.01, 0.02), retry_on=NotYet, attempts=3)(call, 1)
    assert calls == [1, 1, 1]


def test_backoff_doubles_up_to_its_cap() -> None:
    """backoff(0.2, 5): 0.2, 0.4, 0.8 … never above 5 s (what connect_nats waited by hand before)."""
    wait = backoff(0.2, 5.0)

    class State:
        def __init__(self, attempt: int) -> None:
            self.attempt_number = attempt

    assert [round(wait(State(n)), 3) for n in (1, 2, 3, 4, 5, 6, 7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]  # type: ignore[arg-type]
