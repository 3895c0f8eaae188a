"""A durable pull consumer loop with the notifier's delivery rules, for one-message-at-a-time flows.

The handler sends; this loop decides what a failure means: a rate limit waits the announced
reset, a transient failure is redelivered with backoff, a refusal or an undecodable payload is
dead-lettered with its reason, and so is a message past its delivery budget. An event is acked
only after its handler returned. A handler binds its event's request_id into structlog's context,
so that every line about that event, its outcome included, carries it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from aegis.notifier import metrics
from aegis.notifier.sinks import PermanentSendError, RateLimited, TransientSendError
from aegis.shared.dead_letters import dead_letter

log = structlog.get_logger("aegis.notifier.consumer")

Handler = Callable[[Msg], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a message is retried before it is dead-lettered."""

    max_deliver: int
    ack_wait_s: float
    backoff_s: tuple[float, ...]

    def delay(self, deliveries: int) -> float:
        return self.backoff_s[min(deliveries, len(self.backoff_s)) - 1]


async def consume(
    js: JetStreamContext,
    *,
    stream: str,
    subject: str,
    durable: str,
    handle: Handler,
    policy: RetryPolicy,
    stopping: asyncio.Event,
) -> None:
    """Run `handle` on every message of `durable` until `stopping` is set."""
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=policy.ack_wait_s,
        max_deliver=-1,
        filter_subject=subject,
    )
    subscription = await js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
    log.info("consumer started", durable=durable, subject=subject)
    while not stopping.is_set():
        try:
            msgs = await subscription.fetch(batch=10, timeout=1.0)
        except NatsTimeoutError:
            continue
        except (ConnectionClosedError, OSError) as error:
            log.warning(
                "nats unavailable, retrying", durable=durable, error=str(error) or type(error).__name__
            )
            await asyncio.sleep(0.5)
            continue
        for msg in msgs:
            await _process(js, msg, handle, policy, durable)
    await subscription.unsubscribe()


async def _process(
    js: JetStreamContext, msg: Msg, handle: Handler, policy: RetryPolicy, durable: str
) -> None:
    # Each message starts from an empty logging context (this loop runs in a task of its own);
    # what the handler binds (its request_id) stays on the outcome lines logged here after it.
    structlog.contextvars.clear_contextvars()
    deliveries = msg.metadata.num_delivered
    if deliveries > policy.max_deliver:
        await _dead_letter(
            js, msg, f"gave up after {deliveries - 1} deliveries (the last ended without an outcome)"
        )
        return
    try:
        await handle(msg)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5]
        )
        await _dead_letter(js, msg, f"payload does not match its schema: {problems}")
    except RateLimited as limited:
        metrics.RATE_LIMIT_WAITS.inc()
        await msg.nak(delay=limited.reset_s)
    except TransientSendError as error:
        metrics.SEND_FAILURES.labels("transient").inc()
        if deliveries >= policy.max_deliver:
            await _dead_letter(js, msg, f"gave up after {deliveries} deliveries: {error}")
        else:
            log.warning("send failed, will retry", durable=durable, error=str(error), deliveries=deliveries)
            await msg.nak(delay=policy.delay(deliveries))
    except PermanentSendError as error:
        metrics.SEND_FAILURES.labels("permanent").inc()
        await _dead_letter(js, msg, str(error))
    else:
        await msg.ack()


def schema_problems(error: ValidationError) -> str:
    """The first few validation problems, each as `field.path: message`."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])


async def _dead_letter(js: JetStreamContext, msg: Msg, reason: str) -> None:
    log.error(
        "message dead-lettered", subject=msg.subject, reason=reason, deliveries=msg.metadata.num_delivered
    )
    metrics.DEAD_LETTERS.labels("question_flow").inc()
    await dead_letter(js, msg, reason)
