"""Sampled traces of the simulated estate, in Jaeger's JSON model, with errors and timings that agree
with the state: a failing callee's span errors first and its critical callers' spans error after it.
Every call is a client span of the caller (tagged `peer.service`) around the callee's server span, as
OpenTelemetry instruments it; a callee that is down or unreachable leaves only the client span.
With `Realism.untagged_spans` no span says it failed (no `error` tag, no error type), as in Nezha's
recordings; with `Realism.short_trace_window` traces are kept only for two to three minutes around
the injection (from 10–120 s before it), sampled more densely, as Nezha kept them.
"""

import random
from dataclasses import dataclass, field
from typing import Any

from aegis.simulator.scenarios import STEP_S, Scenario
from aegis.simulator.state import REFUSED_MS, TIMEOUT_MS, EstateHistory

TRACES_PER_STEP = 3
TRACES_PER_STEP_IN_SHORT_WINDOW = 20


@dataclass
class TraceRecord:
    """One trace in Jaeger's JSON shape, plus what trace search filters on."""

    trace_id: str
    start_us: int
    json: dict[str, Any]
    services: set[str] = field(default_factory=set)
    error_services: set[str] = field(default_factory=set)
    max_duration_us: dict[str, int] = field(default_factory=dict)


@dataclass
class _Builder:
    rng: random.Random
    history: EstateHistory
    step: int
    trace_id: str
    spans: list[dict[str, Any]] = field(default_factory=list)
    processes: dict[str, str] = field(default_factory=dict)

    def span_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def pid(self, service: str) -> str:
        return self.processes.setdefault(service, f"p{len(self.processes) + 1}")

    def add(
        self,
        service: str,
        op: str,
        parent: str | None,
        start: float,
        dur: float,
        error: bool,
        tags: dict[str, Any],
    ) -> str:
        sid = self.span_id()
        if self.history.scenario.realism.untagged_spans:
            tags = {k: v for k, v in tags.items() if k != "error.type"}
            error = False
        all_tags = {**tags, "error": True} if error else tags
        self.spans.append(
            {
                "traceID": self.trace_id,
                "spanID": sid,
                "operationName": op,
                "references": [{"refType": "CHILD_OF", "traceID": self.trace_id, "spanID": parent}]
                if parent
                else [],
                "startTime": int(start),
                "duration": max(1, int(dur)),
                "processID": self.pid(service),
                "tags": [
                    {"key": k, "type": "bool" if isinstance(v, bool) else "string", "value": v}
                    for k, v in sorted(all_tags.items())
                ],
                "logs": [],
                "warnings": None,
            }
        )
        return sid

    def serve(self, service: str, parent: str | None, start: float) -> tuple[float, bool]:
        """Server span of `service` with its calls; returns (duration µs, errored)."""
        st = self.history.at(service, self.step)
        cursor = start + st.self_ms * 1000 * self.rng.lognormvariate(0, 0.3) / 2
        span_index = len(self.spans)
        sid = self.add(service, f"{service}.Handle", parent, start, 0, False, {"span.kind": "server"})
        failed = self.rng.random() < st.own_err
        for call in self.history.estate.calls.get(service, ()):
            count = int(call.per_request) + (1 if self.rng.random() < call.per_request % 1 else 0)
            for _ in range(count):
                dur, err = self.call(service, sid, call.callee, cursor)
                cursor += dur
                if err and call.critical and self.rng.random() < 0.95:
                    failed = True
        cursor += st.self_ms * 1000 * self.rng.lognormvariate(0, 0.3) / 2
        self.spans[span_index]["duration"] = max(1, int(cursor - start))
        if failed:
            self.mark_failed(span_index)
        return cursor - start, failed

    def mark_failed(self, index: int) -> None:
        """Tag span `index` as failed, unless spans carry no status here."""
        if not self.history.scenario.realism.untagged_spans:
            self.spans[index]["tags"].append({"key": "error", "type": "bool", "value": True})

    def call(self, caller: str, parent: str, callee: str, start: float) -> tuple[float, bool]:
        target = self.history.at(callee, self.step)
        here = self.history.at(caller, self.step)
        peer = {"span.kind": "client", "peer.service": callee}
        if not target.up:
            dur = REFUSED_MS * 1000
            self.add(
                caller,
                f"call {callee}",
                parent,
                start,
                dur,
                True,
                {**peer, "error.type": "connection refused"},
            )
            return dur, True
        if self.rng.random() < here.timeout_err.get(callee, 0.0):
            dur = TIMEOUT_MS * 1000
            self.add(caller, f"call {callee}", parent, start, dur, True, {**peer, "error.type": "timeout"})
            return dur, True
        delay = here.extra_ms.get(callee, 0.0) * 1000 * self.rng.random() * 2
        if callee in self.history.estate.infrastructure:
            dur = target.self_ms * 1000 * self.rng.lognormvariate(0, 0.3) + delay
            err = self.rng.random() < target.err
            self.add(caller, f"call {callee}", parent, start, dur, err, {**peer, "db.system": callee})
            return dur, err
        index = len(self.spans)
        client = self.add(caller, f"call {callee}", parent, start, 0, False, peer)
        dur, err = self.serve(callee, client, start + delay / 2)
        self.spans[index]["duration"] = max(1, int(dur + delay))
        if err:
            self.mark_failed(index)
        return dur + delay, err


def trace_window(scenario: Scenario) -> tuple[float, float] | None:
    """[start, end) in unix seconds of the traces kept, or None when every step's are kept."""
    if not scenario.realism.short_trace_window:
        return None
    rng = random.Random(scenario.rng_seed ^ 0x3714D0)
    length = rng.uniform(120.0, 180.0)
    start = scenario.inject_time - rng.uniform(10.0, min(90.0, length - 60.0))
    return start, start + length


def generate_traces(history: EstateHistory) -> list[TraceRecord]:
    """`TRACES_PER_STEP` sampled traces from the entry service per step (none while it is down), or,
    with a short trace window, `TRACES_PER_STEP_IN_SHORT_WINDOW` per step inside it and none outside."""
    rng = random.Random(history.scenario.rng_seed ^ 0x7ACE)
    entry = history.estate.entry
    window = trace_window(history.scenario)
    per_step = TRACES_PER_STEP if window is None else TRACES_PER_STEP_IN_SHORT_WINDOW
    records: list[TraceRecord] = []
    for step, t in enumerate(history.times):
        if not history.at(entry, step).up:
            continue
        if window is not None and not (window[0] - STEP_S < t < window[1]):
            continue
        for _ in range(per_step):
            builder = _Builder(rng, history, step, f"{rng.getrandbits(128):032x}")
            start = (t + rng.random() * STEP_S) * 1e6
            if window is not None and not window[0] * 1e6 <= start < window[1] * 1e6:
                continue
            builder.serve(entry, None, start)
            services = {s: p for s, p in builder.processes.items()}
            by_pid = {p: s for s, p in services.items()}
            record = TraceRecord(
                builder.trace_id,
                int(start),
                {
                    "traceID": builder.trace_id,
                    "spans": builder.spans,
                    "processes": {p: {"serviceName": s, "tags": []} for s, p in services.items()},
                    "warnings": None,
                },
            )
            for span in builder.spans:
                service = by_pid[span["processID"]]
                record.services.add(service)
                if any(tag["key"] == "error" for tag in span["tags"]):
                    record.error_services.add(service)
                record.max_duration_us[service] = max(
                    record.max_duration_us.get(service, 0), span["duration"]
                )
            records.append(record)
    return records
