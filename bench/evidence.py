"""Evidence collection for a 12-service estate against the real Prometheus and the Loki/Jaeger fakes.

    .venv/bin/python -m bench.evidence [--runs 15] [--fake-latency-ms 50] [--json]

Backfills a real Prometheus (Debian's binary, via promtool) with a simulated incident, serves the
incident's logs and traces from the loopback fakes in a process of their own, then times
`collect_evidence` over the whole estate: concurrently (the product's setting) and with one request
in flight at a time (the same queries one after another). Prints p50/p95 and the speed-up.

On loopback with instant fakes every request is CPU work on one of two cores, which bounds any
speed-up near 2x: that measures the machine, not the fan-out. Real Loki and Jaeger take tens to
hundreds of milliseconds per query, so the fakes take `--fake-latency-ms` (default 50) per query;
the real Prometheus always answers at its own pace. Run with 0 to see the CPU-bound figure.
"""

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from aegis.rca_worker.analysis import collect_evidence
from aegis.rca_worker.backends.readonly import ReadOnlyClient, endpoints_from_settings
from aegis.rca_worker.settings import RcaSettings
from aegis.shared.questions import TimeWindow
from aegis.simulator.estate import SERVICES
from aegis.simulator.real_prometheus import RealPrometheus, recent_start
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry


async def _measure(
    settings: RcaSettings, window: TimeWindow, in_flight: int, runs: int
) -> tuple[list[float], int]:
    requests = 0

    async def count(_: httpx.Request) -> None:
        nonlocal requests
        requests += 1

    timings = []
    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        client = ReadOnlyClient(http, endpoints_from_settings(settings), in_flight)
        await collect_evidence(client, settings, None, window)  # warm-up: connections, caches
        requests = 0
        for _ in range(runs):
            began = time.perf_counter()
            bundle = await collect_evidence(client, settings, None, window)
            timings.append(time.perf_counter() - began)
            if bundle.gaps:
                raise RuntimeError(
                    f"evidence gaps during the benchmark: {[g.describe() for g in bundle.gaps]}"
                )
    return timings, requests // runs


def main(argv: list[str]) -> int:
    """Run the benchmark; 2 when the Prometheus binaries are missing."""
    parser = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--fake-latency-ms",
        type=float,
        default=50.0,
        help="query time of the Loki/Jaeger fakes (default 50 ms, a fast real Loki/Jaeger; 0 for none)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("prometheus/promtool not found: install Debian's prometheus package", file=sys.stderr)
        return 2
    start = recent_start()
    telemetry = ScenarioTelemetry(make_scenario("exception", "payment", 1, start=start))
    fakes = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aegis.simulator.serve",
            "--fault",
            "exception",
            "--root",
            "payment",
            "--seed",
            "1",
            "--start",
            repr(start),
            "--latency-ms",
            str(args.fake_latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fakes.stdout is not None
        urls = json.loads(fakes.stdout.readline())
        with RealPrometheus(telemetry, Path(prometheus), Path(promtool)) as real:
            settings = RcaSettings(
                prometheus_base_url=real.url,
                loki_base_url=urls["loki"],
                jaeger_base_url=urls["jaeger"],
                baseline_lookback_s=0.0,
                evidence_concurrency=16,
            )
            s = telemetry.scenario
            window = TimeWindow(
                start=datetime.fromtimestamp(s.start, UTC), end=datetime.fromtimestamp(s.end, UTC)
            )
            concurrent, requests = asyncio.run(
                _measure(settings, window, settings.evidence_concurrency, args.runs)
            )
            sequential, _ = asyncio.run(_measure(settings, window, 1, max(3, args.runs // 3)))
    finally:
        fakes.terminate()
        fakes.wait(timeout=10)
    report = {
        "services": len(SERVICES),
        "fake_latency_ms": args.fake_latency_ms,
        "requests_per_collection": requests,
        "concurrent_p50_s": round(statistics.median(concurrent), 3),
        "concurrent_p95_s": round(sorted(concurrent)[int(0.95 * (len(concurrent) - 1))], 3),
        "sequential_p50_s": round(statistics.median(sequential), 3),
        "speedup": round(statistics.median(sequential) / statistics.median(concurrent), 2),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:26} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
