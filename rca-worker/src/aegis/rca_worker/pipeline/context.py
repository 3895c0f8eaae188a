"""What the graph's nodes run with: clients, settings, memory, models, and where progress goes.

Passed per run as LangGraph's runtime context, so one compiled graph serves every question of a
process — the service, the tests and `aegis eval` — each with its own backends and reporter.
"""

from dataclasses import dataclass, field
from typing import Literal, Protocol

from aegis.rca_worker.backends.readonly import ReadOnlyClient
from aegis.rca_worker.discovery import ServiceDirectory
from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.sessions import SessionMemory
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.rca import AnalysisStep

StepStatus = Literal["started", "done", "failed"]


class ProgressReporter(Protocol):
    """Receives each step's start and end (the service publishes them as `RcaProgress`)."""

    async def __call__(
        self, step: AnalysisStep, status: StepStatus, message: str = "", counts: dict[str, int] | None = None
    ) -> None: ...


async def no_progress(
    step: AnalysisStep, status: StepStatus, message: str = "", counts: dict[str, int] | None = None
) -> None:
    """A reporter that drops everything (offline evaluation)."""


@dataclass(frozen=True)
class AnalysisContext:
    """Dependencies of one analysis run."""

    client: ReadOnlyClient
    settings: WorkerSettings
    progress: ProgressReporter = no_progress
    directory: ServiceDirectory = field(default_factory=ServiceDirectory)
    memory: SessionMemory | None = None
    models: ChatModels | None = None
