"""Turning a step's body into a graph node that reports progress and times itself.

A body is `async (state, context) -> StepOutcome`: what to add to the state, and what to tell the
asker. The wrapper publishes "started" before it and "done" (or "failed") after it, with counts, so
that no node can forget to report.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langgraph.runtime import Runtime

from aegis.rca_worker.pipeline.context import AnalysisContext, StepStatus
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.shared.rca import AnalysisStep


@dataclass
class StepOutcome:
    """A step's state update, and the one-line message and counts its progress event carries."""

    update: dict[str, Any]
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    status: StepStatus = "done"


StepBody = Callable[[AnalysisState, AnalysisContext], Awaitable[StepOutcome]]


class Node(Protocol):
    """A graph node as LangGraph calls it: the state, and the run's context as `runtime`."""

    def __call__(
        self, state: AnalysisState, *, runtime: Runtime[AnalysisContext]
    ) -> Awaitable[dict[str, Any]]: ...


def reporting(step: AnalysisStep, body: StepBody) -> Node:
    """A LangGraph node running `body` between "started" and "done"/"failed" progress events."""

    async def node(state: AnalysisState, *, runtime: Runtime[AnalysisContext]) -> dict[str, Any]:
        context = runtime.context
        began = time.perf_counter()
        await context.progress(step, "started")
        try:
            outcome = await body(state, context)
        except Exception as error:
            await context.progress(step, "failed", f"{type(error).__name__}: {str(error)[:160]}")
            raise
        update = dict(outcome.update)
        update["timings"] = {
            **update.get("timings", {}),
            f"{step}_ms": int((time.perf_counter() - began) * 1000),
        }
        await context.progress(step, outcome.status, outcome.message, outcome.counts)
        return update

    node.__name__ = step
    return node
