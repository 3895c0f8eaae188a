"""Alert → Feishu latency at a steady alert rate, and the services' memory, idle and under load.

Runs nats-server (from the wheel), alert-ingest and the notifier as separate processes against
the loopback fake Feishu (in this process, so both ends share one clock). Posts webhooks for
distinct alert groups at `--rate` per second for `--seconds`, and measures, per group, the time
from sending the webhook to the fake Feishu receiving a message that shows it (its own card or a
digest). Targets: p99 ≤ 300 ms at 50 groups/s; RSS ≤ 120 MB per service.

    .venv/bin/python -m bench.delivery [--rate 50] [--seconds 20]
"""

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import webhook_payload
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.services import ServiceProcess
from bench.measuring import percentile, rss_mb

BIN = Path(sys.executable).parent
GROUP = re.compile(r"Bench(\d{6})")


async def run(rate: float, seconds: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="aegis-bench-"))
    feishu = FakeFeishu()
    feishu.start()
    nats_server = NatsServer(BIN / "nats-server", workdir / "nats")
    nats_server.start()
    env = {
        **os.environ,
        "NATS_URL": nats_server.url,
        "HTTP_HOST": "127.0.0.1",
        "NOTIFIER_SINK": "feishu",
        "FEISHU_APP_ID": feishu.app_id,
        "FEISHU_APP_SECRET": feishu.app_secret,
        "FEISHU_BASE_URL": feishu.base_url,
        "FEISHU_DEFAULT_CHAT_ID": "oc_bench",
        "HTTP_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }
    log = workdir / "services.log"
    ingest = ServiceProcess.http_service("alert-ingest", "aegis-alert-ingest", env, log).start()
    notifier = ServiceProcess("notifier", [str(BIN / "aegis-notifier")], env, log).start()
    pids = {"alert-ingest": ingest.pid, "notifier": notifier.pid}
    http_port = ingest.port
    try:
        await ingest.ready()
        await asyncio.sleep(3)
        idle = {name: rss_mb(pid) for name, pid in pids.items()}
        peak = dict(idle)
        sent_at: dict[int, float] = {}
        total = int(rate * seconds)
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=10) as client:

            async def post(number: int) -> None:
                body = webhook_payload(name=f"Bench{number:06d}", service=f"svc{number % 12}")
                sent_at[number] = time.monotonic()
                response = await client.post("/alertmanager/webhook", json=body)
                response.raise_for_status()

            tasks = []
            for number in range(total):
                await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
                tasks.append(asyncio.create_task(post(number)))
                if number % 25 == 0:
                    peak = {name: max(peak[name], rss_mb(pid)) for name, pid in pids.items()}
            await asyncio.gather(*tasks)
        deadline = time.monotonic() + 60
        shown: dict[int, float] = {}
        while len(shown) < total and time.monotonic() < deadline:
            for message in feishu.sent("oc_bench"):
                for number in GROUP.findall(message.content):
                    shown.setdefault(int(number), message.created_at)
            peak = {name: max(peak[name], rss_mb(pid)) for name, pid in pids.items()}
            await asyncio.sleep(0.2)
        latencies = [shown[n] - sent_at[n] for n in shown]
        messages = feishu.sent("oc_bench")
        appearances = [int(n) for m in messages for n in set(GROUP.findall(m.content))]
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        print(
            f"alert → Feishu at {rate:g} groups/s for {seconds:g} s: {total} groups, {len(messages)} messages"
        )
        print(f"  shown {len(shown)}/{total}; shown twice: {len(appearances) - len(set(appearances))}")
        worst = max(latencies) * 1000
        print(f"  latency p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms (target p99 ≤ 300)")
        print(f"  max sends to the chat in any 1 s: {feishu.max_sends_in_any_second('oc_bench')} (limit 5)")
        for name in pids:
            print(f"  {name} RSS idle {idle[name]:.0f} MB, under load {peak[name]:.0f} MB (target ≤ 120 MB)")
        return 0 if len(shown) == total else 1
    finally:
        for service in (notifier, ingest):
            service.stop()
        nats_server.stop()
        feishu.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="alert groups per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to post")
    args = parser.parse_args()
    return asyncio.run(run(args.rate, args.seconds))


if __name__ == "__main__":
    sys.exit(main())
