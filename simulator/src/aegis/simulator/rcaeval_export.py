"""Writing a scenario as an RCAEval case folder, so `--dataset` can be tried without the public data.

Same layout and units as RCAEval's loaders expect: `metrics.csv` (`time` in seconds and
`<service>_<metric>` columns: cpu, mem, latency-50, latency-90, workload), `logs.csv` (`timestamp` in
ns, `container_name`, `message`), `traces.csv` (`startTime` and `duration` in µs) and
`inject_time.txt`, under `<root>_<fault>/<n>/`.
"""

import csv
from pathlib import Path

from aegis.rca_worker.evidence import CPU, LATENCY_P95, MEMORY, REQUEST_RATE
from aegis.simulator.signals import latency_median_s
from aegis.simulator.telemetry import ScenarioTelemetry

_COLUMNS = (("cpu", CPU), ("mem", MEMORY), ("latency-90", LATENCY_P95), ("workload", REQUEST_RATE))


def export_case(telemetry: ScenarioTelemetry, directory: Path, with_traces: bool = True) -> Path:
    """Write the scenario under `directory/<root>_<fault>/<seed>/` and return that folder."""
    s = telemetry.scenario
    folder = directory / f"{s.root}_{s.fault}" / str(s.seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inject_time.txt").write_text(f"{int(s.inject_time)}\n", encoding="utf-8")
    services = telemetry.scenario.estate.services
    columns = [f"{svc}_{suffix}" for svc in services for suffix, _ in _COLUMNS] + [
        f"{svc}_latency-50" for svc in services
    ]
    lookup = {(svc, sig): dict(points) for (svc, sig), points in telemetry.series.items()}
    with (folder / "metrics.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", *columns])
        for step, t in enumerate(telemetry.history.times):
            row: list[object] = [int(t)]
            for svc in services:
                for _, signal in _COLUMNS:
                    value = lookup.get((svc, signal), {}).get(t)
                    row.append("" if value is None else f"{value:.6g}")
            for svc in services:
                st = telemetry.history.at(svc, step)
                row.append(f"{latency_median_s(st.latency_ms):.6g}" if st.up else "")
            writer.writerow(row)
    with (folder / "logs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "timestamp", "container_name", "message", "level"])
        for record in telemetry.logs:
            writer.writerow(["", record.time_ns, record.service, record.line, record.level])
    if with_traces:
        _export_traces(telemetry, folder / "traces.csv")
    return folder


def _export_traces(telemetry: ScenarioTelemetry, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "time",
                "traceID",
                "spanID",
                "parentSpanID",
                "serviceName",
                "methodName",
                "operationName",
                "startTimeMillis",
                "startTime",
                "duration",
                "statusCode",
            ]
        )
        for record in telemetry.traces:
            names = {p: proc["serviceName"] for p, proc in record.json["processes"].items()}
            for span in record.json["spans"]:
                parent = span["references"][0]["spanID"] if span["references"] else ""
                error = any(t["key"] == "error" for t in span["tags"])
                writer.writerow(
                    [
                        "",
                        span["traceID"],
                        span["spanID"],
                        parent,
                        names[span["processID"]],
                        "GET",
                        span["operationName"],
                        span["startTime"] // 1000,
                        span["startTime"],
                        span["duration"],
                        "2" if error else "",
                    ]
                )
