"""The scenario's metrics as an OpenMetrics file for `promtool tsdb create-blocks-from openmetrics`.

Written as the raw series a scrape would have stored — counters, a latency histogram, gauges — under
the `prometheus-http` convention (`http_requests_total{service,code}`,
`http_request_duration_seconds_bucket{service,le}`) plus cAdvisor and kube-state-metrics, so that the
real Prometheus computes rates, ratios and quantiles itself from the same state the fakes serve.
"""

import math
from pathlib import Path
from typing import TextIO

from aegis.simulator.scenarios import STEP_S
from aegis.simulator.signals import SIGMA, latency_median_s
from aegis.simulator.telemetry import ScenarioTelemetry

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _cdf(le: float, mean_ms: float) -> float:
    median = latency_median_s(mean_ms)
    if median <= 0:
        return 1.0
    return 0.5 * (1.0 + math.erf((math.log(le) - math.log(median)) / (SIGMA * math.sqrt(2))))


def _fmt(value: float) -> str:
    return repr(round(value, 6))


def write_openmetrics(telemetry: ScenarioTelemetry, out: TextIO) -> None:
    """Write every family, series by series, samples in time order, then `# EOF`."""
    history = telemetry.history
    http = history.estate.http_services
    out.write("# HELP http_requests Requests served.\n# TYPE http_requests counter\n")
    for service in http:
        for code, ok in (("200", True), ("500", False)):
            total = 0.0
            for step, t in enumerate(history.times):
                st = history.at(service, step)
                if not st.up:
                    continue
                total += st.rate * STEP_S * ((1 - st.err) if ok else st.err)
                out.write(f'http_requests_total{{service="{service}",code="{code}"}} {_fmt(total)} {t:.3f}\n')
    out.write("# HELP http_request_duration_seconds Request latency.\n")
    out.write("# TYPE http_request_duration_seconds histogram\n")
    for service in http:
        cumulative = [0.0] * (len(BUCKETS) + 1)
        total_sum = 0.0
        rows: list[list[str]] = [[] for _ in range(len(BUCKETS) + 3)]
        for step, t in enumerate(history.times):
            st = history.at(service, step)
            if not st.up:
                continue
            count = st.rate * STEP_S
            for i, le in enumerate(BUCKETS):
                cumulative[i] += count * _cdf(le, st.latency_ms)
            cumulative[-1] += count
            total_sum += count * st.latency_ms / 1000.0
            for i, le in enumerate(BUCKETS):
                rows[i].append(f'{{service="{service}",le="{le}"}} {_fmt(cumulative[i])} {t:.3f}')
            rows[len(BUCKETS)].append(f'{{service="{service}",le="+Inf"}} {_fmt(cumulative[-1])} {t:.3f}')
            rows[len(BUCKETS) + 1].append(f'{{service="{service}"}} {_fmt(cumulative[-1])} {t:.3f}')
            rows[len(BUCKETS) + 2].append(f'{{service="{service}"}} {_fmt(total_sum)} {t:.3f}')
        for i, row in enumerate(rows):
            suffix = "_bucket" if i <= len(BUCKETS) else ("_count" if i == len(BUCKETS) + 1 else "_sum")
            out.writelines(f"http_request_duration_seconds{suffix}{line}\n" for line in row)
    _container_families(telemetry, out)
    out.write("# EOF\n")


def _container_families(telemetry: ScenarioTelemetry, out: TextIO) -> None:
    history = telemetry.history
    out.write(
        "# HELP container_cpu_usage_seconds CPU time used.\n# TYPE container_cpu_usage_seconds counter\n"
    )
    for service in history.estate.services:
        total = 0.0
        for step, t in enumerate(history.times):
            st = history.at(service, step)
            if not st.up:
                continue
            total += st.cpu * STEP_S
            out.write(
                f'container_cpu_usage_seconds_total{{container="{service}",namespace="shop"}} '
                f"{_fmt(total)} {t:.3f}\n"
            )
    out.write("# HELP container_memory_working_set_bytes Working set.\n")
    out.write("# TYPE container_memory_working_set_bytes gauge\n")
    for service in history.estate.services:
        for step, t in enumerate(history.times):
            st = history.at(service, step)
            if st.up:
                out.write(
                    f'container_memory_working_set_bytes{{container="{service}",namespace="shop"}} '
                    f"{_fmt(st.memory)} {t:.3f}\n"
                )
    out.write("# HELP kube_pod_container_status_restarts_total Container restarts.\n")
    out.write("# TYPE kube_pod_container_status_restarts_total gauge\n")
    for service in history.estate.services:
        for step, t in enumerate(history.times):
            st = history.at(service, step)
            if st.up or (service == telemetry.scenario.root and telemetry.scenario.fault == "mem"):
                out.write(
                    f'kube_pod_container_status_restarts_total{{container="{service}",namespace="shop"}} '
                    f"{st.restarts} {t:.3f}\n"
                )


def write_openmetrics_file(telemetry: ScenarioTelemetry, path: Path) -> Path:
    """Write the OpenMetrics file to `path` and return it."""
    with path.open("w", encoding="utf-8") as out:
        write_openmetrics(telemetry, out)
    return path
