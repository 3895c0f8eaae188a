"""Evidence collection for a 50-service estate against the real servers, timed per question.

    AEGIS_LOKI_BIN=… AEGIS_VICTORIATRACES_BIN=… .venv/bin/python -m bench.evidence [--runs 10]
        [--services 50] [--json]

Debian's Prometheus (backfilled with promtool: cAdvisor with sidecars, kube-state-metrics, Istio
RED), Loki 3.3.2 and VictoriaTraces (Jaeger API) from `../shared/bin` hold the cluster incident of
`aegis.devkit.harness.cluster_incident` widened to `--services` services. Each run is one question about
the whole estate: `collect_evidence` over the last 40 minutes plus the 30-minute baseline, every
request counted per backend. Prints p50/p95 and the requests per question (the issue's target:
p50 ≤ 2 s). Exits 2 when a server binary is missing.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from aegis.devkit.harness.cluster_incident import Timeline, log_streams, write_openmetrics
from aegis.devkit.harness.cluster_traces import traces_request
from aegis.devkit.harness.real_backends import RealLoki, RealVictoriaTraces
from aegis.rca_worker.backends.readonly import ReadOnlyClient, endpoints_from_settings
from aegis.rca_worker.pipeline.collect import collect_evidence
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.questions import TimeWindow
from aegis.simulator.real_prometheus import RealPrometheus

TENANT = "bench"


async def _measure(
    settings: WorkerSettings, window: TimeWindow, runs: int
) -> tuple[list[float], Counter[str]]:
    hosts: Counter[str] = Counter()
    names = {
        httpx.URL(str(getattr(settings, f"{b}_base_url"))).port: b for b in ("prometheus", "loki", "jaeger")
    }

    async def count(request: httpx.Request) -> None:
        hosts[names.get(request.url.port, "other")] += 1

    timings = []
    parts: Counter[str] = Counter()
    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        client = ReadOnlyClient(http, endpoints_from_settings(settings), settings.evidence_concurrency)
        await collect_evidence(client, settings, None, window)  # warm-up: connections, caches
        hosts.clear()
        for _ in range(runs):
            began = time.perf_counter()
            per_backend: dict[str, int] = {}
            bundle = await collect_evidence(client, settings, None, window, timings=per_backend)
            parts.update(per_backend)
            timings.append(time.perf_counter() - began)
            if bundle.gaps:
                raise RuntimeError(
                    f"evidence gaps during the benchmark: {[g.describe() for g in bundle.gaps]}"
                )
    hosts.update({f"{name}_total_ms": value for name, value in parts.items()})
    return timings, hosts


def main(argv: list[str]) -> int:
    """Run the benchmark; 2 when a server binary is missing."""
    parser = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    loki, traces = os.environ.get("AEGIS_LOKI_BIN"), os.environ.get("AEGIS_VICTORIATRACES_BIN")
    if not (prometheus and promtool and loki and traces):
        print(
            "needs prometheus/promtool (Debian) and AEGIS_LOKI_BIN, AEGIS_VICTORIATRACES_BIN "
            "(unpacked from ../shared/bin)",
            file=sys.stderr,
        )
        return 2
    timeline = Timeline.ending(time.time(), extra_services=max(0, args.services - 5))
    with tempfile.TemporaryDirectory(prefix="aegis-bench-") as tmp:
        metrics = write_openmetrics("istio", timeline, Path(tmp) / "metrics.om")
        with (
            RealPrometheus(
                None, Path(prometheus), Path(promtool), openmetrics=metrics, scrape_interval="30s"
            ) as prom,
            RealLoki(Path(loki)) as real_loki,
            RealVictoriaTraces(Path(traces)) as real_traces,
        ):
            real_loki.push(TENANT, log_streams(timeline))
            real_traces.push(traces_request(timeline))
            time.sleep(2)  # VictoriaTraces makes fresh spans searchable within a second or so
            settings = WorkerSettings(
                prometheus_base_url=prom.url,
                loki_base_url=real_loki.url,
                loki_tenant_id=TENANT,
                jaeger_base_url=real_traces.jaeger_url,
                evidence_concurrency=16,
            )
            end = datetime.fromtimestamp(timeline.end, UTC)
            window = TimeWindow(start=end - timedelta(minutes=40), end=end)
            timings, hosts = asyncio.run(_measure(settings, window, args.runs))
    report = {
        "services": len(timeline.services),
        "runs": args.runs,
        "p50_s": round(statistics.median(timings), 3),
        "p95_s": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 3),
        "requests_per_question": round(
            sum(n for k, n in hosts.items() if not k.endswith("_ms")) / args.runs, 1
        ),
        **{
            (name if name.endswith("_ms") else f"{name}_requests"): round(n / args.runs, 1)
            for name, n in sorted(hosts.items())
        },
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
