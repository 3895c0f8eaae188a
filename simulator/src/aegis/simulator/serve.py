"""`python -m aegis.simulator.serve`: serve one scenario's fakes on loopback until interrupted.

Prints one JSON line with the URLs (`loki`, `jaeger`, and `prometheus` for the fake Prometheus) and,
with `--openmetrics PATH`, writes the file to backfill a real Prometheus from. Used by the demo and
the evidence benchmark, which want the fakes in a process of their own.
"""

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.fakes.loki import FakeLoki
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.openmetrics import write_openmetrics_file
from aegis.simulator.real_prometheus import recent_start
from aegis.simulator.scenarios import FAULTS, make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry


def main(argv: list[str]) -> int:
    """Serve until SIGINT/SIGTERM; 2 on bad arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m aegis.simulator.serve", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--fault", default="exception", choices=FAULTS)
    parser.add_argument("--root", default="payment")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=float, default=None, help="unix start (default: ends 2 min ago)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="query time each fake answer takes")
    parser.add_argument("--openmetrics", type=Path, help="also write the OpenMetrics file here")
    args = parser.parse_args(argv)
    try:
        scenario = make_scenario(args.fault, args.root, args.seed, args.start or recent_start())
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    telemetry = ScenarioTelemetry(scenario)
    if args.openmetrics:
        write_openmetrics_file(telemetry, args.openmetrics)
    servers = {
        "prometheus": LoopbackServer(FakePrometheus(telemetry).handle).start(),
        "loki": LoopbackServer(FakeLoki(telemetry).handle).start(),
        "jaeger": LoopbackServer(FakeJaeger(telemetry).handle).start(),
    }
    for server in servers.values():
        server.latency_s = args.latency_ms / 1000.0
    info: dict[str, str | float] = {name: server.url for name, server in servers.items()}
    info |= {"start": scenario.start, "end": scenario.end, "inject_time": scenario.inject_time}
    print(json.dumps(info), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    for server in servers.values():
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
