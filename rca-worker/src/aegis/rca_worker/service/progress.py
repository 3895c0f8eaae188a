"""Publishing one analysis's progress on `aegis.rca.progress.<request_id>`.

Plain NATS publishes (the AEGIS_RCA stream keeps them too): progress is advisory, and waiting for a
stream ack on every step would only slow the answer. They go through the NATS client itself, not
the broker: FastStream's metrics label a publish by its subject, and one subject per request would
grow a new time series with every question. The publisher remembers the step under way
so that an attempt cut short (a timeout) is still reported as failed at the right step.
`before_step`, when given, is awaited as each step starts (and by the backend client before it sends
a call or reads an answer): an API analysis pauses there while a Feishu one runs (see
`service.questions.FeishuFirst`).
"""

import time
from collections.abc import Awaitable, Callable

import structlog
from faststream.nats import NatsBroker

from aegis.rca_worker.pipeline.context import StepStatus
from aegis.shared.rca import AnalysisStep, RcaProgress
from aegis.shared.subjects import progress_subject
from aegis.shared.tracing import with_trace

log = structlog.get_logger(__name__)


class ProgressPublisher:
    """The `ProgressReporter` of one request."""

    def __init__(
        self, broker: NatsBroker, request_id: str, before_step: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.before_step = before_step
        self._broker = broker
        self._request_id = request_id
        self._began = time.perf_counter()
        self.running: AnalysisStep | None = None

    async def __call__(
        self, step: AnalysisStep, status: StepStatus, message: str = "", counts: dict[str, int] | None = None
    ) -> None:
        if status == "started" and self.before_step is not None:
            await self.before_step()
        self.running = step if status == "started" else None
        event = RcaProgress(
            request_id=self._request_id,
            step=step,
            status=status,
            message=message[:300],
            counts=counts or {},
            elapsed_ms=int((time.perf_counter() - self._began) * 1000),
        )
        try:
            await self._broker.connection.publish(
                progress_subject(self._request_id),
                event.model_dump_json().encode(),
                headers=with_trace({}) or None,
            )
        except Exception as error:  # noqa: BLE001 - progress is advisory; it must not fail the analysis
            log.warning("progress not published", step=step, error=str(error) or type(error).__name__)

    async def cut_short(self, reason: str) -> None:
        """Report the step under way (if any) as failed."""
        if self.running is not None:
            await self(self.running, "failed", reason)
