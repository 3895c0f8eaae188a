"""Everything a scenario emits — metric signals, log lines, traces — generated once, consistently."""

from dataclasses import dataclass
from functools import cached_property

from aegis.simulator.logs import LogRecord, generate_logs
from aegis.simulator.scenarios import Scenario
from aegis.simulator.signals import Series, loudest_symptom, signal_series
from aegis.simulator.state import EstateHistory, simulate
from aegis.simulator.traces import TraceRecord, generate_traces


@dataclass
class ScenarioTelemetry:
    """The telemetry of one scenario, generated lazily and kept."""

    scenario: Scenario

    @cached_property
    def history(self) -> EstateHistory:
        """Per-step state of every service."""
        return simulate(self.scenario)

    @cached_property
    def series(self) -> dict[tuple[str, str], Series]:
        """(service, signal) → points."""
        return signal_series(self.history)

    @cached_property
    def logs(self) -> list[LogRecord]:
        """Every log line, in time order."""
        return generate_logs(self.history)

    @cached_property
    def traces(self) -> list[TraceRecord]:
        """Every sampled trace, in time order."""
        return generate_traces(self.history)

    @cached_property
    def loudest(self) -> str:
        """Where the loudest user-facing symptom is."""
        return loudest_symptom(self.history, self.series)

    @property
    def propagation_heavy(self) -> bool:
        """True when the loudest symptom is not at the root (or the root has no HTTP signals at all)."""
        return self.loudest != self.scenario.root or self.scenario.root in self.scenario.estate.infrastructure
