"""Reading case folders in RCAEval's layout into the engine's `EvidenceBundle`, with the ground truth.

`DIR/<anything>/<service>_<fault>/<n>/` holds `inject_time.txt` (unix seconds), a metrics CSV (`time`
plus `<service>_<metric>` columns), and optionally `logs.csv` and `traces.csv`. Known metric suffixes
map to the signals the ranking understands; any other column is scored as a generic signal. Logs go
through the same template clustering as Loki's lines, traces through the same digest as Jaeger's.
"""

import csv
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from aegis.rca_worker.backends.jaeger import Span, Trace
from aegis.rca_worker.evidence import (
    CPU,
    ERROR_RATIO,
    LATENCY_P95,
    MEMORY,
    NODE_PREFIX,
    REQUEST_RATE,
    TRAFFIC_PREFIX,
    EvidenceBundle,
    EvidenceGap,
    MetricSeries,
)
from aegis.rca_worker.log_templates import TemplateCounter
from aegis.rca_worker.trace_analysis import TraceDigest

METRIC_FILES = ("metrics.csv", "simple_metrics.csv", "data.csv")
MAX_LOG_ROWS = 300_000
MAX_TRACE_ROWS = 300_000
# Recorded logs come with exact times: count them in 10 s buckets so the change splits them finely.
FINE_BUCKET_S = 10.0
_SUFFIXES = {
    "cpu": CPU,
    "mem": MEMORY,
    "memory": MEMORY,
    "workload": REQUEST_RATE,
    "error": ERROR_RATIO,
    "err": ERROR_RATIO,
    "latency-90": LATENCY_P95,
    "latency-95": LATENCY_P95,
    "latency": LATENCY_P95,
}


@dataclass(frozen=True)
class DatasetCase:
    """One case folder: where it is, the true root-cause service and fault, and when it was injected."""

    path: Path
    root: str
    fault: str
    inject_time: float

    @property
    def case_id(self) -> str:
        """`<service>_<fault>/<n>`."""
        return f"{self.path.parent.name}/{self.path.name}"


def find_cases(directory: Path) -> list[DatasetCase]:
    """Every leaf folder under `directory` with an `inject_time.txt`, sorted by path."""
    cases = []
    for marker in sorted(directory.rglob("inject_time.txt")):
        folder = marker.parent
        service, _, fault = folder.parent.name.partition("_")
        label = folder / "label.json"
        if label.exists():
            data = json.loads(label.read_text(encoding="utf-8"))
            service = str(data.get("root_cause_service") or service)
        cases.append(
            DatasetCase(folder, service, fault or "unknown", float(marker.read_text().strip().split()[0]))
        )
    return cases


def _signal(metric: str) -> str:
    """The ranking's name for a column suffix: known meanings mapped, latencies and scopes by prefix.

    `client-latency-*` is the latency of the calls a service makes (a symptom of its callees),
    `node-*` describes the machine a service runs on (shared with its neighbours), `net-*` is traffic.
    """
    if metric in _SUFFIXES:
        return _SUFFIXES[metric]
    if metric.startswith(("cpu-", "cpu_")):
        return CPU
    if metric.startswith(("mem-", "mem_", "memory")):
        return MEMORY
    for prefix, signal in (("client-latency", "latency_client"), ("latency", "latency")):
        if metric.startswith(prefix):
            return f"{signal}_{metric[len(prefix) + 1 :] or 'x'}"
    if metric.startswith("node-"):
        return NODE_PREFIX + metric[5:]
    if metric.startswith("net-"):
        return TRAFFIC_PREFIX + metric[4:]
    return metric


def _read_metrics(case: DatasetCase, gaps: list[EvidenceGap]) -> list[MetricSeries]:
    path = next((case.path / n for n in METRIC_FILES if (case.path / n).exists()), None)
    if path is None:
        gaps.append(EvidenceGap(source="prometheus", reason="no metrics.csv in the case folder"))
        return []
    columns: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                t = float(row["time"])
            except (KeyError, ValueError):
                continue
            for name, raw in row.items():
                if name == "time" or not name or "_" not in name or raw in ("", None):
                    continue
                try:
                    value = float(raw)
                except ValueError:
                    continue
                if value == value:
                    columns[name].append((t, value))
    series = []
    for name, points in sorted(columns.items()):
        service, _, metric = name.partition("_")
        signal = _signal(metric)
        series.append(
            MetricSeries(
                service=service,
                signal=signal,
                query=f"{path.name}:{name}",
                points=sorted(points),
                counts=signal == REQUEST_RATE and _whole(points),
            )
        )
    return series


def _whole(points: list[tuple[float, float]]) -> bool:
    """Whether a workload column counts requests per row (whole numbers, as PetShop's per-5-minute
    counts) rather than giving a per-second rate (fractions, as Nezha's)."""
    return any(v for _, v in points) and all(v == int(v) for _, v in points)


def _read_logs(case: DatasetCase, counter: TemplateCounter, operations: dict[str, str]) -> int:
    """Count every line; one carrying the id of a traced span is counted under that span's operation."""
    path = case.path / "logs.csv"
    if not path.exists():
        return 0
    rows = 0
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for rows, row in enumerate(csv.DictReader(handle), start=1):
            if rows > MAX_LOG_ROWS:
                break
            message = row.get("message") or ""
            try:
                counter.add(
                    row.get("container_name") or "unknown",
                    int(row["timestamp"]) / 1e9,
                    message,
                    operations.get(row.get("span_id") or ""),
                )
            except (KeyError, ValueError):
                continue
    return rows


def _read_traces(case: DatasetCase, digest: TraceDigest, counter: TemplateCounter) -> dict[str, str]:
    """Digest every trace, count each span as a call of its operation; span id → operation."""
    path = case.path / "traces.csv"
    operations: dict[str, str] = {}
    if not path.exists():
        return operations
    by_trace: dict[str, list[Span]] = defaultdict(list)
    rows = 0
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for rows, row in enumerate(csv.DictReader(handle), start=1):
            if rows > MAX_TRACE_ROWS:
                break
            try:
                status = (row.get("statusCode") or "").strip().upper()
                span = Span(
                    trace_id=row["traceID"],
                    span_id=row["spanID"],
                    parent_id=row.get("parentSpanID") or None,
                    service=row["serviceName"],
                    operation=row.get("operationName") or "",
                    start_us=int(float(row["startTime"])),
                    duration_us=int(float(row["duration"])),
                    error=status in ("2", "ERROR", "STATUS_CODE_ERROR") or status.startswith("5"),
                )
            except (KeyError, ValueError):
                continue
            by_trace[span.trace_id].append(span)
            operations[span.span_id] = span.operation
            counter.add_call(span.service, span.operation, span.start_us / 1e6)
    for trace_id in sorted(by_trace):
        digest.add(Trace(trace_id, by_trace[trace_id]))
    return operations


def _read_dependencies(case: DatasetCase) -> set[tuple[str, str]]:
    path = case.path / "dependency.csv"
    if not path.exists():
        return set()
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            (row["Source"], row["Target"])
            for row in csv.DictReader(handle)
            if row.get("Source") and row.get("Target") and row["Source"] != row["Target"]
        }


def load_case(case: DatasetCase) -> EvidenceBundle:
    """The evidence of one case folder; missing files are gaps, never failures."""
    gaps: list[EvidenceGap] = []
    metrics = _read_metrics(case, gaps)
    counter, digest = TemplateCounter(bucket_s=FINE_BUCKET_S), TraceDigest()
    operations = _read_traces(case, digest, counter)
    log_rows, trace_rows = _read_logs(case, counter, operations), len(operations)
    if not log_rows:
        gaps.append(EvidenceGap(source="loki", reason="no logs.csv in the case folder"))
    if not trace_rows:
        gaps.append(EvidenceGap(source="jaeger", reason="no traces.csv in the case folder"))
    times = [t for s in metrics for t, _ in s.points] or [case.inject_time - 600, case.inject_time + 600]
    services = sorted({s.service for s in metrics} | {s.service for s in digest.stats()})
    templates = counter.templates({s: f'logs.csv container_name="{s}"' for s in services})
    return EvidenceBundle(
        start=min(times),
        end=max(times),
        services=services,
        edges=sorted(digest.edges | _read_dependencies(case)),
        metrics=metrics,
        log_templates=templates,
        trace_stats=digest.stats(),
        trace_origins=digest.origins,
        operations=digest.operations(),
        gaps=gaps,
        sources={
            "metrics": f"{len(metrics)} columns",
            "logs": f"{log_rows} rows",
            "traces": f"{trace_rows} rows",
        },
        change_hint=case.inject_time,
    )


if __name__ == "__main__":  # pragma: no cover - a quick look at one folder
    for found in find_cases(Path(sys.argv[1])):
        print(found.case_id, found.root, found.fault, load_case(found).sources)
