"""The telemetry workload of the compose `observability` profile: one simulated incident, for real.

The simulator's shop (twelve services, one seeded fault) is rendered into the real backends of the
stack instead of its loopback fakes: metrics as an OpenMetrics file that promtool backfills into
Prometheus, log lines as JSON files that Promtail ships to Loki, traces posted to Jaeger over
OTLP/HTTP. The history ends two minutes before this runs, so "what is wrong with payment?" asked
within the next quarter of an hour finds the incident inside its default window.
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from aegis.simulator.openmetrics import write_openmetrics_file
from aegis.simulator.real_prometheus import recent_start
from aegis.simulator.scenarios import FAULTS, make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry
from aegis.simulator.traces import TraceRecord

SPAN_KINDS = {"server": 2, "client": 3}  # OTLP SpanKind
STATUS_ERROR = 2
TRACES_PER_REQUEST = 40


def write_logs(telemetry: ScenarioTelemetry, directory: Path) -> int:
    """One JSON-lines file per service, in time order; returns the number of lines."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = defaultdict(list)
    for record in telemetry.logs:
        ts = datetime.fromtimestamp(record.time_ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")
        entry = {"ts": ts, "app": record.service, "level": record.level, "msg": record.line}
        files[record.service].append(json.dumps(entry, ensure_ascii=False))
    for service, lines in files.items():
        (directory / f"{service}.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(lines) for lines in files.values())


def _attribute(key: str, value: Any) -> dict[str, Any]:
    kind = "boolValue" if isinstance(value, bool) else "stringValue"
    return {"key": key, "value": {kind: value if isinstance(value, bool) else str(value)}}


def otlp_request(traces: list[TraceRecord]) -> dict[str, Any]:
    """Jaeger-model traces as one OTLP/HTTP JSON ExportTraceServiceRequest, grouped by service."""
    spans_by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in traces:
        processes = record.json["processes"]
        for span in record.json["spans"]:
            tags = {tag["key"]: tag["value"] for tag in span["tags"]}
            start_ns = span["startTime"] * 1000
            parents = span["references"]
            spans_by_service[processes[span["processID"]]["serviceName"]].append(
                {
                    "traceId": span["traceID"],
                    "spanId": span["spanID"],
                    "parentSpanId": parents[0]["spanID"] if parents else "",
                    "name": span["operationName"],
                    "kind": SPAN_KINDS.get(str(tags.get("span.kind")), 1),
                    "startTimeUnixNano": str(start_ns),
                    "endTimeUnixNano": str(start_ns + span["duration"] * 1000),
                    "attributes": [
                        _attribute(key, value)
                        for key, value in tags.items()
                        if key not in ("span.kind", "error")
                    ],
                    "status": {"code": STATUS_ERROR} if tags.get("error") else {},
                }
            )
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attribute("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "aegis-simulator"}, "spans": spans}],
            }
            for service, spans in sorted(spans_by_service.items())
        ]
    }


def push_traces(traces: list[TraceRecord], otlp_url: str, wait_s: float = 120.0) -> None:
    """POST the traces in batches to `<otlp_url>/v1/traces`, waiting for the collector to come up."""
    deadline = time.monotonic() + wait_s
    with httpx.Client(timeout=10.0) as client:
        for first in range(0, len(traces), TRACES_PER_REQUEST):
            body = otlp_request(traces[first : first + TRACES_PER_REQUEST])
            while True:
                try:
                    client.post(f"{otlp_url.rstrip('/')}/v1/traces", json=body).raise_for_status()
                    break
                except httpx.HTTPError as error:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"telemetry-seed: Jaeger's OTLP endpoint failed: {error}") from None
                    time.sleep(2.0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for metrics.om and logs/")
    parser.add_argument("--otlp", required=True, help="OTLP/HTTP endpoint, e.g. http://jaeger:4318")
    parser.add_argument("--fault", default="exception", choices=FAULTS)
    parser.add_argument("--root", default="payment")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        scenario = make_scenario(args.fault, args.root, args.seed, recent_start())
    except ValueError as error:
        print(f"telemetry-seed: {error}", file=sys.stderr)
        return 2
    telemetry = ScenarioTelemetry(scenario)
    args.out.mkdir(parents=True, exist_ok=True)
    write_openmetrics_file(telemetry, args.out / "metrics.om")
    lines = write_logs(telemetry, args.out / "logs")
    push_traces(telemetry.traces, args.otlp)
    summary = {
        "case": scenario.case_id,
        "fault_starts": datetime.fromtimestamp(scenario.inject_time, tz=UTC).isoformat(),
        "history_ends": datetime.fromtimestamp(scenario.end, tz=UTC).isoformat(),
        "log_lines": lines,
        "traces": len(telemetry.traces),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
