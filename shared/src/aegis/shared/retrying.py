"""Waiting for something that will come back (NATS at start-up, Feishu's bot info, a publish), one way.

Every such wait in Aegis is tenacity's `AsyncRetrying` built here: retried only on the errors
named, forever unless `attempts` says otherwise, each wait logged as one warning line with the
error and the delay, and the last error raised as itself when the attempts run out.
Cancellation is never retried (it is not an `Exception`).
"""

from collections.abc import Callable
from typing import Any

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, stop_never
from tenacity.stop import stop_base, stop_when_event_set
from tenacity.wait import wait_base, wait_chain, wait_exponential, wait_fixed

__all__ = ["backoff", "delays", "retrying", "stop_when_event_set"]

log = structlog.get_logger("aegis.retrying")


def backoff(first_s: float, max_s: float) -> wait_base:
    """Waits of `first_s`, doubling each time, never above `max_s`."""
    return wait_exponential(multiplier=first_s, max=max_s)


def delays(*seconds: float) -> wait_base:
    """Waits of `seconds` in turn, the last one repeated."""
    return wait_chain(*(wait_fixed(s) for s in seconds))


def retrying(
    waiting: str,
    wait: wait_base,
    *,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    attempts: int | None = None,
    stop: stop_base | None = None,
    **fields: Any,
) -> AsyncRetrying:
    """Retry on `retry_on` with `wait` between tries; each wait logs `waiting` with `fields`.

    `attempts` None: until it succeeds (or `stop` says so); the last error is raised as itself.
    Await `retrying(...)(function, *args)` to call `function` that way; it must be an `async def`
    function (tenacity calls any other callable synchronously and would not await its result).
    """
    until = stop_never if attempts is None else stop_after_attempt(attempts)
    return AsyncRetrying(
        stop=until if stop is None else until | stop,
        wait=wait,
        retry=retry_if_exception_type(retry_on),
        before_sleep=_log_wait(waiting, fields),
        reraise=True,
    )


def _log_wait(waiting: str, fields: dict[str, Any]) -> Callable[[RetryCallState], None]:
    def logged(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else None
        said = (str(error) or type(error).__name__) if error is not None else None
        log.warning(waiting, error=said, retry_in_s=delay, **fields)

    return logged
