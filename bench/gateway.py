"""gateway-feishu: events/s taken from the long connection and published, ACK latency, and RSS.

Runs nats-server (from the wheel) and `aegis-gateway-feishu` as separate processes; the fake
long-connection server and the fake open platform run in this process, so the ACK latency is
measured where Feishu would see it: from sending an event frame to receiving its ACK frame. The
real lark-oapi client inside the gateway receives every frame.

Two phases: a saturating one (`--events` distinct events, `--in-flight` of them unacknowledged at
any time, plus `--duplicates` of them re-delivered) for the rate, and a paced one (`--rate` per
second for `--seconds`) for the latency a steady stream sees. Afterwards it checks that the
stream holds exactly one question per distinct event. Targets: ≥ 500 events/s,
ACK p99 ≤ 100 ms, RSS ≤ 120 MB. `--nats-delay-ms` puts a slow link (aegis.devkit.harness.slow_link)
between the gateway and nats-server, so every NATS round trip takes that much longer (the
ACK must not wait for the publish; p99 ≤ 100 ms at 300 events/s with 200 ms).

    .venv/bin/python -m bench.gateway [--events 5000] [--in-flight 16] [--rate 300] [--seconds 10]
        [--nats-delay-ms 200]
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.feishu_events import message_event
from aegis.devkit.fakes.feishu_ws import Ack, FakeLongConnection
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.services import ServiceProcess
from aegis.devkit.harness.slow_link import SlowLink
from aegis.shared.streams import QUESTIONS_STREAM
from bench.measuring import percentile, rss_mb

BIN = Path(sys.executable).parent
TARGET_RATE, TARGET_P99_MS, TARGET_RSS_MB = 500.0, 100.0, 120.0
ACK_TIMEOUT_S = 10.0


def question(number: int) -> dict[str, Any]:
    return message_event(
        f"@_user_1 svc{number % 12} 5xx 变多了，过去30分钟怎么回事？", event_id=f"bench{number:08d}"
    )


@dataclass
class Phase:
    acks: list[Ack]
    seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return len(self.acks) / self.seconds

    def latency_ms(self, q: float) -> float:
        return percentile([ack.latency_s for ack in self.acks], q) * 1000

    def failed(self) -> int:
        return sum(1 for ack in self.acks if ack.code != 200)


async def saturate(fake: FakeLongConnection, events: list[dict[str, Any]], in_flight: int, pid: int) -> Phase:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)
    acks: list[Ack] = []
    peak = rss_mb(pid)

    async def sender() -> None:
        while not queue.empty():
            acks.append(await fake.send_event(queue.get_nowait(), timeout=10))

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(in_flight)))
    seconds = time.perf_counter() - started
    sampler.cancel()
    return Phase(acks, seconds, max(peak, rss_mb(pid)))


async def paced(fake: FakeLongConnection, events: list[dict[str, Any]], rate: float, pid: int) -> Phase:
    acks: list[Ack] = []
    peak = rss_mb(pid)

    async def send(event: dict[str, Any]) -> None:
        try:
            acks.append(await fake.send_event(event, timeout=ACK_TIMEOUT_S))
        except TimeoutError:  # counted as not acked, at the timeout, rather than ending the run
            acks.append(Ack("", 0, None, None, ACK_TIMEOUT_S))

    tasks = []
    started = time.perf_counter()
    for number, event in enumerate(events):
        await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(send(event)))
        if number % 50 == 0:
            peak = max(peak, rss_mb(pid))
    await asyncio.gather(*tasks)
    return Phase(acks, time.perf_counter() - started, max(peak, rss_mb(pid)))


async def stream_count(nats_url: str, expected: int, settle_s: float) -> int:
    """Questions in the stream, once it holds `expected` or `settle_s` passed (publishes trail ACKs)."""
    nc = await nats.connect(nats_url)
    deadline = time.monotonic() + settle_s
    try:
        while True:
            count = int((await nc.jetstream().stream_info(QUESTIONS_STREAM)).state.messages)
            if count >= expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def run(
    events: int, in_flight: int, duplicates: float, rate: float, seconds: float, nats_delay_ms: float
) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="aegis-bench-gateway-"))
    nats_server = NatsServer(BIN / "nats-server", workdir / "nats")
    nats_server.start()
    nats_url = nats_server.url
    link = SlowLink("127.0.0.1", int(nats_url.rsplit(":", 1)[1]), nats_delay_ms / 1000).start()
    feishu = FakeFeishu()
    feishu.start()
    fake = FakeLongConnection(feishu.app_id, feishu.app_secret, upstream=feishu.base_url)
    fake.start()
    env = {
        **os.environ,
        "NATS_URL": link.url if nats_delay_ms > 0 else nats_url,
        "FEISHU_APP_ID": feishu.app_id,
        "FEISHU_APP_SECRET": feishu.app_secret,
        "FEISHU_BASE_URL": fake.base_url,
        "FEISHU_EVENT_MODE": "ws",
        "HTTP_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
    }
    gateway = ServiceProcess.http_service(
        "gateway-feishu", "aegis-gateway-feishu", env, workdir / "services.log"
    ).start()
    try:
        await gateway.ready()
        await asyncio.sleep(2)
        idle = rss_mb(gateway.pid)
        await saturate(
            fake, [question(n) for n in range(900_000, 900_200)], in_flight, gateway.pid
        )  # warm-up

        distinct = [question(n) for n in range(events)]
        redelivered = random.Random(5).sample(distinct, int(events * duplicates))
        load = distinct + redelivered
        random.Random(6).shuffle(load)
        burst = await saturate(fake, load, in_flight, gateway.pid)
        steady_events = [question(n) for n in range(events, events + int(rate * seconds))]
        steady = await paced(fake, steady_events, rate, gateway.pid)

        expected = 200 + events + len(steady_events)
        published = await stream_count(nats_url, expected, settle_s=30)
        slow = f", every NATS round trip slowed by {nats_delay_ms:g} ms" if nats_delay_ms > 0 else ""
        print(f"gateway-feishu over the long connection (real lark-oapi client, {fake.base_url} fake{slow})")
        print(
            f"  saturating: {len(load)} events ({len(redelivered)} re-deliveries), {in_flight} in flight: "
            f"{burst.rate:.0f} events/s (target ≥ {TARGET_RATE:.0f}); "
            f"ACK p50 {burst.latency_ms(0.5):.1f} ms, p99 {burst.latency_ms(0.99):.1f} ms; "
            f"not acked 200: {burst.failed()}"
        )
        print(
            f"  paced at {rate:g}/s for {seconds:g} s: ACK p50 {steady.latency_ms(0.5):.1f} ms, "
            f"p99 {steady.latency_ms(0.99):.1f} ms, max {steady.latency_ms(1.0):.1f} ms "
            f"(target p99 ≤ {TARGET_P99_MS:.0f}); not acked 200: {steady.failed()}"
        )
        print(f"  questions in the stream: {published}, distinct events sent: {expected} (must be equal)")
        peak = max(burst.peak_rss_mb, steady.peak_rss_mb)
        print(f"  gateway RSS idle {idle:.0f} MB, under load {peak:.0f} MB (target ≤ {TARGET_RSS_MB:.0f} MB)")
        met = (
            burst.rate >= TARGET_RATE
            and steady.latency_ms(0.99) <= TARGET_P99_MS
            and peak <= TARGET_RSS_MB
            and published == expected
            and burst.failed() == steady.failed() == 0
        )
        return 0 if met else 1
    finally:
        gateway.stop()
        link.stop()
        nats_server.stop()
        fake.stop()
        feishu.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000, help="distinct events in the saturating phase")
    parser.add_argument("--in-flight", type=int, default=16, help="unacknowledged events at any time")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of events delivered twice")
    parser.add_argument("--rate", type=float, default=300.0, help="events per second in the paced phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the paced phase")
    parser.add_argument(
        "--nats-delay-ms", type=float, default=0.0, help="extra latency of every NATS round trip"
    )
    args = parser.parse_args()
    return asyncio.run(
        run(args.events, args.in_flight, args.duplicates, args.rate, args.seconds, args.nats_delay_ms)
    )


if __name__ == "__main__":
    sys.exit(main())
