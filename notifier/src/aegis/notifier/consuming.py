"""The notifier's one-message-at-a-time flows on the shared consumer skeleton.

`aegis.shared.consumers` decides what an outcome means; this module only says what Feishu's answers
mean in its terms: a rate limit waits the announced reset (without spending the budget), a
transient failure is retried with back-off, a refusal is dead-lettered with its reason. An event is
acked only after its handler returned. A handler binds its event's request_id into structlog's
context, so that every line about that event, its outcome included, carries it.
"""

import asyncio
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from aegis.notifier import metrics
from aegis.notifier.sinks import PermanentSendError, RateLimited, TransientSendError
from aegis.shared.consumers import (
    ConsumerSpec,
    DeliveryBudget,
    Outcome,
    Refused,
    Reject,
    RetryLater,
    run_pull_consumer,
)

Handler = Callable[[Msg], Awaitable[None]]


def in_skeleton_terms(error: Exception) -> Exception:
    """A sink error as the skeleton's RetryLater / Refused (counted); any other error unchanged."""
    if isinstance(error, RateLimited):
        metrics.RATE_LIMIT_WAITS.inc()
        return RetryLater(f"feishu rate limit: {error}", error.reset_s, counted=False)
    if isinstance(error, TransientSendError):
        metrics.SEND_FAILURES.labels("transient").inc()
        return RetryLater(str(error))
    if isinstance(error, PermanentSendError):
        metrics.SEND_FAILURES.labels("permanent").inc()
        return Refused(str(error))
    return error


def in_feishu_terms(handle: Handler) -> Handler:
    """`handle` with the sink's errors turned into the skeleton's RetryLater / Refused."""

    async def handled(msg: Msg) -> None:
        try:
            await handle(msg)
        except Exception as error:
            raise in_skeleton_terms(error) from error

    return handled


def _count(outcome: Outcome) -> None:
    if isinstance(outcome, Reject):
        metrics.DEAD_LETTERS.labels("question_flow").inc()


async def consume(
    js: JetStreamContext,
    spec: ConsumerSpec,
    handle: Handler,
    budget: DeliveryBudget,
    stopping: asyncio.Event,
    alive: Callable[[], None] | None = None,
) -> None:
    """Run `handle` on every message of `spec`'s durable until `stopping` is set."""
    await run_pull_consumer(
        js, spec, in_feishu_terms(handle), stopping, budget=budget, counted=_count, alive=alive
    )
