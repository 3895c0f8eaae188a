"""Handling one question from the shared consumer: analyse, answer once, or retry, or give up clearly.

Every question ends in exactly one `RcaResult` on `aegis.rca.result.<source>`: an answer, usage
help for an empty question, or a failure answer after the last attempt. The result carries
`Nats-Msg-Id = result-<request_id>`, so a redelivery after a crash between publishing and acking
cannot answer twice. A payload that is not a `QuestionEvent` is rejected at the door into the
dead-letter stream with the reason, rather than dropped.

Acknowledgement is manual: ack after the result is stored; NAK with backoff after a failed attempt;
heartbeats (`in_progress`) while an analysis runs so that only a dead worker's questions move on.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import structlog
from faststream.nats import NatsBroker, NatsMessage
from nats.aio.msg import Msg
from pydantic import ValidationError

from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.graph import AnalysisGraph, run_analysis
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.scoping import is_empty
from aegis.rca_worker.service import metrics
from aegis.rca_worker.service.answers import failure_result, usage_result
from aegis.rca_worker.service.cancels import Cancellations, Cancelled
from aegis.rca_worker.service.progress import ProgressPublisher
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.consumers import DeliveryBudget, Reject, Retry, RetryLater, handle_delivery
from aegis.shared.in_progress import in_progress
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.streams import RCA_STREAM
from aegis.shared.subjects import QuestionSource, result_subject
from aegis.shared.tracing import consuming, with_trace

log = structlog.get_logger("aegis.rca_worker.questions")


def _why(error: BaseException, settings: WorkerSettings) -> str:
    if isinstance(error, TimeoutError):
        return f"the analysis did not finish within {settings.rca_analysis_timeout_s:g}s"
    return f"{type(error).__name__}: {str(error)[:200]}"


def _record(result: RcaResult, state: AnalysisState) -> None:
    for name, ms in result.timings.items():
        if name.endswith("_ms"):
            metrics.STEP_SECONDS.labels(name.removesuffix("_ms")).observe(ms / 1000)
    if state.get("degraded"):
        metrics.DEGRADED.labels("llm").inc()
    if result.evidence_gaps:
        metrics.DEGRADED.labels("evidence_gaps").inc()
    metrics.ANALYSES.labels("degraded" if result.degraded else "answered").inc()


PICK_UP_S = 1.0
"""How long a Feishu question heard on its subject holds API work back before this replica starts
it: its pick-up takes milliseconds; past this, another replica took it (or it needs no analysis)."""


class FeishuFirst:
    """A person waiting in Feishu goes first: an API or CLI analysis starts, moves on to its next
    step, sends a backend call or reads an answer only while no Feishu analysis runs or is on its
    way in this replica. With its own consumer and worker slots, a Feishu question then neither
    queues behind API traffic nor shares the CPU with it for longer than one stretch of API code
    between two of those points; API analyses also share one analysis's budget of backend calls
    (bench/isolation.py measures it).

    "On its way": a Feishu question is `heard` on its subject the moment it is published (a core
    subscription), a dozen turns of the event loop before the pull consumer hands it over; four or
    five stretches of API code ran in those turns (heard to started: 17 ms median with 200 API
    questions queued, 5 ms idle; 12 ms, and none, with the hold). From then until its analysis
    starts here, or `PICK_UP_S` at most, API work makes way too.

    When the way clears, the waiting API code goes on one stretch per turn of the event loop, not
    all at once: the loop reads its sockets between any two, so a Feishu question that arrives
    meanwhile is seen after one stretch, not after every waiting analysis has had its turn.
    """

    def __init__(self, pick_up_s: float = PICK_UP_S) -> None:
        self._pick_up_s = pick_up_s
        self._feishu = 0
        self._coming = 0
        self._gone: asyncio.TimerHandle | None = None
        self._clear = asyncio.Event()
        self._clear.set()
        self._door = asyncio.Lock()

    async def clear(self) -> None:
        """Until no Feishu analysis runs or is on its way, then through the door one at a time."""
        while True:
            await self._clear.wait()
            async with self._door:
                await asyncio.sleep(0)  # a yield, not a delay: the loop polls its sockets first
                if self._clear.is_set():
                    return

    def heard(self) -> None:
        """A Feishu question was published: make way from now until it starts, or `pick_up_s`."""
        self._coming += 1
        self._clear.clear()
        if self._gone is not None:
            self._gone.cancel()
        self._gone = asyncio.get_running_loop().call_later(self._pick_up_s, self._not_coming)

    async def on_subject(self, _msg: NatsMessage) -> None:
        """The core subscription's handler: `heard`, whatever the payload (the consumer judges it)."""
        self.heard()

    def _not_coming(self) -> None:
        self._coming, self._gone = 0, None
        self._open_if_clear()

    def _open_if_clear(self) -> None:
        if not self._feishu and not self._coming:
            self._clear.set()

    @contextlib.asynccontextmanager
    async def turn(self, source: str) -> AsyncIterator[None]:
        """Hold the analysis of a question from `source` until it may start."""
        if source != "feishu":
            await self.clear()
            yield
            return
        self._feishu += 1
        self._coming = max(0, self._coming - 1)
        self._clear.clear()
        try:
            yield
        finally:
            self._feishu -= 1
            self._open_if_clear()


@dataclass
class QuestionFlow:
    """The handler of the worker's consumers, with what it needs to analyse and answer.

    How a delivery ends is the shared skeleton's (`aegis.shared.consumers.handle_delivery`): an
    invalid payload is dead-lettered at once, a failed analysis retried with back-off, and after
    the last attempt the asker gets a failure answer and the question a dead letter — whatever
    was raised, so no question can stop a consumer or be dropped without either.
    """

    broker: NatsBroker
    settings: WorkerSettings
    graph: AnalysisGraph
    context: Callable[[ProgressPublisher, QuestionSource], AnalysisContext]
    priority: FeishuFirst = field(default_factory=FeishuFirst)
    cancels: Cancellations = field(default_factory=Cancellations)

    @property
    def budget(self) -> DeliveryBudget:
        settings = self.settings
        return DeliveryBudget(settings.rca_max_deliver, settings.rca_ack_wait_s, settings.backoff)

    async def handle(self, msg: NatsMessage) -> None:
        """One delivery of one question, settled by the skeleton."""
        raw: Msg = msg.raw_message
        outcome = await handle_delivery(
            self.broker.connection.jetstream(),
            raw,
            lambda _raw: self._analyse(msg),
            self.budget,
            on_reject=self._answer_failed,
        )
        if isinstance(outcome, Retry):
            metrics.ANALYSES.labels("retried").inc()
        elif isinstance(outcome, Reject):
            invalid = outcome.reason.startswith("payload does not match")
            metrics.ANALYSES.labels("rejected" if invalid else "failed").inc()
            metrics.DEAD_LETTERS.labels("invalid" if invalid else "exhausted").inc()

    async def _analyse(self, msg: NatsMessage) -> None:
        """Answer the question; raises when it could not be answered this time.

        Every log line written while it is handled, by whichever module, carries its request_id;
        its span continues the trace of whoever asked, and the result and progress carry it on.
        """
        raw: Msg = msg.raw_message
        question = QuestionEvent.model_validate_json(raw.data)
        deliveries = raw.metadata.num_delivered
        with (
            structlog.contextvars.bound_contextvars(
                request_id=question.request_id, source=question.source, delivery=deliveries
            ),
            consuming("rca-worker analyse", raw.headers) as span,
        ):
            span.set_attribute("aegis.request_id", question.request_id)
            await self._answer(msg, question)

    async def _answer(self, msg: NatsMessage, question: QuestionEvent) -> None:
        waits = None if question.source == "feishu" else self.priority.clear
        progress = ProgressPublisher(self.broker, question.request_id, before_step=waits)
        if is_empty(question):
            await self._publish(usage_result(question, self.settings.locale), progress)
            metrics.ANALYSES.labels("help").inc()
            return
        if question.source == "feishu":
            state = await self._analysed(msg, question, progress)
        else:
            js = self.broker.connection.jetstream()
            outcome = await self.cancels.unless_cancelled(
                js, question.request_id, lambda: self._analysed(msg, question, progress)
            )
            if isinstance(outcome, Cancelled):
                metrics.ANALYSES.labels("cancelled").inc()
                return
            state = outcome
        _record(state["result"], state)
        log.info(
            "answered", degraded=state["result"].degraded, total_ms=state["result"].timings.get("total_ms")
        )

    async def _analysed(
        self, msg: NatsMessage, question: QuestionEvent, progress: ProgressPublisher
    ) -> AnalysisState:
        """Analyse and publish the answer; `RetryLater` with the reason when that failed."""
        try:
            async with (
                in_progress(msg, self.settings.rca_ack_wait_s / 3),
                self.priority.turn(question.source),
            ):
                log.info("analysis started")
                metrics.IN_FLIGHT.inc()
                try:
                    async with asyncio.timeout(self.settings.rca_analysis_timeout_s):
                        state = await run_analysis(
                            self.graph, question, self.context(progress, question.source)
                        )
                    await self._publish(state["result"], progress)
                finally:
                    metrics.IN_FLIGHT.dec()
        except Exception as error:
            reason = _why(error, self.settings)
            await progress.cut_short(reason)
            raise RetryLater(reason) from error
        return state

    async def _answer_failed(self, raw: Msg, reason: str) -> None:
        """Before a question is dead-lettered: tell the asker it could not be answered."""
        try:
            question = QuestionEvent.model_validate_json(raw.data)
        except ValidationError:
            return  # no asker to answer: the dead letter says why
        attempts = raw.metadata.num_delivered
        log.error("question failed for good", request_id=question.request_id, reason=reason)
        progress = ProgressPublisher(self.broker, question.request_id)
        await self._publish(failure_result(question, reason, attempts, self.settings.locale), progress)

    async def _publish(self, result: RcaResult, progress: ProgressPublisher) -> None:
        """Store the result once per request (JetStream drops a second one as a duplicate)."""
        await progress("result", "failed" if result.failed else "done", result.summary[:160])
        ack = await self.broker.publish(
            result.model_dump_json().encode(),
            result_subject(result.source),
            headers=with_trace({"Nats-Msg-Id": f"result-{result.request_id}"}),
            stream=RCA_STREAM,
        )
        if ack.duplicate:
            log.info("result already published; duplicate dropped", request_id=result.request_id)
