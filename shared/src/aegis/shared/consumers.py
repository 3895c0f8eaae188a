"""The one consumer skeleton: every durable consumer declared here, and one way a delivery ends.

`CONSUMERS` is the table of every durable JetStream consumer (durable, subject, ack wait, delivery
budget, back-off); services build their `ConsumerConfig` from it and the AsyncAPI file lists it.
`judge` is the one pure function that turns the outcome of handling a delivery — success or any
exception — into `Ack`, `Retry` or `Reject` (dead letter with the reason); `settle` carries it out
and `handle_delivery` runs a handler and settles, so that no message can end a consumer loop and
a poison message is dead-lettered rather than redelivered in front of the ones behind it.

The server-side `max_deliver` is unlimited: the skeleton itself dead-letters a message whose budget
is spent (also one whose every delivery ended without an outcome, e.g. in a crash), so JetStream
never silently stops delivering a message nobody looked at.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from aegis.shared import subjects
from aegis.shared.dead_letters import dead_letter
from aegis.shared.streams import ALERTS_STREAM, QUESTIONS_STREAM, RCA_STREAM

log = structlog.get_logger("aegis.consumer")


@dataclass(frozen=True)
class DeliveryBudget:
    """How often and how patiently a message is tried before it is dead-lettered."""

    max_deliver: int
    ack_wait_s: float
    backoff_s: tuple[float, ...]

    def delay(self, deliveries: int) -> float:
        """The wait before delivery `deliveries + 1`."""
        if not self.backoff_s:
            return 1.0
        return self.backoff_s[max(1, min(deliveries, len(self.backoff_s))) - 1]


@dataclass(frozen=True)
class ConsumerSpec:
    """One durable consumer: which service reads what, and with which default budget."""

    durable: str
    service: str
    stream: str
    subjects: tuple[str, ...]
    description: str
    budget: DeliveryBudget
    max_ack_pending: int = 1000

    def config(
        self, budget: DeliveryBudget | None = None, max_ack_pending: int | None = None
    ) -> ConsumerConfig:
        """The JetStream consumer configuration, with the service's own budget when it has one."""
        chosen = budget or self.budget
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=chosen.ack_wait_s,
            max_deliver=-1,
            max_ack_pending=max_ack_pending or self.max_ack_pending,
            filter_subject=self.subject if len(self.subjects) == 1 else None,
            filter_subjects=list(self.subjects) if len(self.subjects) > 1 else None,
        )

    @property
    def subject(self) -> str:
        """The subject to subscribe with (the first, when the consumer filters several)."""
        return self.subjects[0]


# The defaults of NOTIFIER_MAX_DELIVER / _ACK_WAIT_S / _BACKOFF_S and RCA_MAX_DELIVER / ….
_NOTIFIER_BUDGET = DeliveryBudget(max_deliver=8, ack_wait_s=60.0, backoff_s=(1.0, 2.0, 5.0, 15.0, 30.0, 60.0))
_WORKER_BUDGET = DeliveryBudget(max_deliver=3, ack_wait_s=60.0, backoff_s=(2.0, 10.0, 30.0))

NOTIFIER_ALERTS = ConsumerSpec(
    "notifier-alerts",
    "notifier",
    ALERTS_STREAM,
    (subjects.ALERTS,),
    "Alert group events → Feishu cards, paced and coalesced.",
    _NOTIFIER_BUDGET,
    max_ack_pending=800,
)
NOTIFIER_ACKS = ConsumerSpec(
    "notifier-ack",
    "notifier",
    QUESTIONS_STREAM,
    (subjects.question_subject("feishu"),),
    "Feishu questions → the 'analysing…' reply in the asker's thread.",
    _NOTIFIER_BUDGET,
)
NOTIFIER_RESULTS = ConsumerSpec(
    "notifier-results",
    "notifier",
    RCA_STREAM,
    (subjects.result_subject("feishu"),),
    "Answers to Feishu questions → the answer card in the asker's thread.",
    _NOTIFIER_BUDGET,
)
# Feishu questions have a consumer (and worker slots) of their own: API traffic never queues them.
WORKER_FEISHU = ConsumerSpec(
    "rca-worker-feishu",
    "rca-worker",
    QUESTIONS_STREAM,
    (subjects.question_subject("feishu"),),
    "Questions asked in Feishu → analysis → aegis.rca.result.feishu.",
    _WORKER_BUDGET,
    max_ack_pending=64,
)
WORKER_API = ConsumerSpec(
    "rca-worker",
    "rca-worker",
    QUESTIONS_STREAM,
    (subjects.question_subject("api"), subjects.question_subject("cli")),
    "Questions asked over the analysis API or with `aegis ask` → analysis → aegis.rca.result.<source>.",
    _WORKER_BUDGET,
    max_ack_pending=64,
)

CONSUMERS: tuple[ConsumerSpec, ...] = (
    NOTIFIER_ALERTS,
    NOTIFIER_ACKS,
    NOTIFIER_RESULTS,
    WORKER_FEISHU,
    WORKER_API,
)


@dataclass(frozen=True)
class Ack:
    """Handled: acknowledge."""


@dataclass(frozen=True)
class Retry:
    """Not now: redeliver after `delay_s`."""

    delay_s: float
    reason: str


@dataclass(frozen=True)
class Reject:
    """Cannot succeed: store on the dead-letter stream with `reason`, never redeliver."""

    reason: str


Outcome = Ack | Retry | Reject


class RetryLater(Exception):
    """Raised by a handler: try again later; `delay_s` None means the budget's back-off.

    `counted=False` (a rate limit's announced wait) does not spend the delivery budget.
    """

    def __init__(self, reason: str, delay_s: float | None = None, counted: bool = True) -> None:
        super().__init__(reason)
        self.delay_s = delay_s
        self.counted = counted


class Refused(Exception):
    """Raised by a handler: this message can never succeed; dead-letter it with this reason."""


def schema_problems(error: ValidationError) -> str:
    """The first few validation problems, each as `field.path: message`."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)[:5]
    return "; ".join(f"{'.'.join(map(str, p['loc'])) or 'body'}: {p['msg']}" for p in problems)


def describe(error: BaseException) -> str:
    """`Type: message`, one line, short."""
    text = " ".join(str(error).split())[:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def judge(error: BaseException | None, deliveries: int, budget: DeliveryBudget) -> Outcome:
    """What ends delivery number `deliveries` of a message whose handling raised `error` (or not)."""
    if error is None:
        return Ack()
    if isinstance(error, ValidationError):
        return Reject(f"payload does not match its schema: {schema_problems(error)}")
    if isinstance(error, Refused):
        return Reject(str(error) or "refused")
    if isinstance(error, RetryLater) and not error.counted:
        return Retry(error.delay_s if error.delay_s is not None else budget.delay(deliveries), str(error))
    reason = str(error) if isinstance(error, RetryLater) else describe(error)
    if deliveries >= budget.max_deliver:
        return Reject(f"gave up after {deliveries} deliveries: {reason}")
    delay = error.delay_s if isinstance(error, RetryLater) and error.delay_s is not None else None
    return Retry(delay if delay is not None else budget.delay(deliveries), reason)


def overdue(deliveries: int, budget: DeliveryBudget) -> Reject | None:
    """A message delivered more often than its budget: the earlier deliveries ended without an
    outcome (a crash, a lost ack), so it is dead-lettered before being handled once more."""
    if deliveries <= budget.max_deliver:
        return None
    return Reject(f"gave up after {deliveries - 1} deliveries (the last ended without an outcome: a crash?)")


async def settle(js: JetStreamContext, msg: Msg, outcome: Outcome) -> None:
    """Carry out `outcome` for `msg`; dead letters are logged with their reason."""
    if isinstance(outcome, Ack):
        await msg.ack()
    elif isinstance(outcome, Retry):
        log.warning(
            "delivery failed, will retry",
            subject=msg.subject,
            reason=outcome.reason,
            retry_in_s=outcome.delay_s,
        )
        await msg.nak(delay=outcome.delay_s)
    else:
        log.error(
            "message dead-lettered",
            subject=msg.subject,
            reason=outcome.reason,
            deliveries=msg.metadata.num_delivered,
        )
        await dead_letter(js, msg, outcome.reason)


Handler = Callable[[Msg], Awaitable[None]]
GiveUp = Callable[[Msg, str], Awaitable[None]]


async def handle_delivery(
    js: JetStreamContext,
    msg: Msg,
    handle: Handler,
    budget: DeliveryBudget,
    on_reject: GiveUp | None = None,
) -> Outcome:
    """Run `handle` on one delivery and settle it; returns the outcome (for metrics).

    Never raises for the message's sake: whatever `handle` raised is judged; `on_reject` (say,
    answering the asker that it failed) runs before the dead letter and cannot stop it. Only a
    failure to settle (NATS gone) propagates, and then JetStream redelivers after the ack wait.
    """
    structlog.contextvars.clear_contextvars()
    deliveries = msg.metadata.num_delivered
    outcome: Outcome | None = overdue(deliveries, budget)
    if outcome is None:
        try:
            await handle(msg)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - every exception is judged: that is the point
            outcome = judge(error, deliveries, budget)
        else:
            outcome = Ack()
    if isinstance(outcome, Reject) and on_reject is not None:
        try:
            await on_reject(msg, outcome.reason)
        except Exception as error:  # noqa: BLE001 - the dead letter still keeps the message
            log.warning("reject hook failed", subject=msg.subject, error=describe(error))
    await settle(js, msg, outcome)
    return outcome


async def run_pull_consumer(
    js: JetStreamContext,
    spec: ConsumerSpec,
    handle: Handler,
    stopping: asyncio.Event,
    *,
    budget: DeliveryBudget | None = None,
    counted: Callable[[Outcome], None] | None = None,
    alive: Callable[[], None] | None = None,
) -> None:
    """Fetch from `spec`'s durable and `handle_delivery` each message until `stopping` is set.

    The loop survives anything a message or an outage can do: NATS errors wait and fetch again,
    an unexpected error is logged and the loop goes on. `alive` is called before every fetch so
    that health can tell a live loop from a stuck or ended one.
    """
    chosen = budget or spec.budget
    subscription = await js.pull_subscribe(
        spec.subject, durable=spec.durable, stream=spec.stream, config=spec.config(chosen)
    )
    log.info("consumer started", durable=spec.durable, subject=spec.subject)
    try:
        while not stopping.is_set():
            if alive is not None:
                alive()  # also while NATS is away: a loop that waits for it is alive
            try:
                msgs = await subscription.fetch(batch=10, timeout=1.0)
            except NatsTimeoutError:
                msgs = []
            except (ConnectionClosedError, OSError) as error:
                log.warning("nats unavailable, retrying", durable=spec.durable, error=describe(error))
                await asyncio.sleep(0.5)
                continue
            except Exception as error:  # noqa: BLE001 - a consumer loop never dies
                log.error("fetch failed, retrying", durable=spec.durable, error=describe(error))
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                try:
                    outcome = await handle_delivery(js, msg, handle, chosen)
                except Exception as error:  # noqa: BLE001 - settling failed: redelivered after ack wait
                    log.warning("could not settle a delivery", durable=spec.durable, error=describe(error))
                    continue
                if counted is not None:
                    counted(outcome)
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
