"""Feishu question latency while the analysis API is crowded: separate consumers keep them apart.

    .venv/bin/python -m bench.isolation [--questions 10] [--api-backlog 200]

One real `aegis-rca-worker` process (RCA_CONCURRENCY 4) on a real nats-server, against the
simulator's backends (100 ms per backend call, as remote ones answer). First `--questions` Feishu
questions one after the other, alone: publish → `RcaResult` on aegis.rca.result.feishu, p50/p95.
Then `--api-backlog` API questions at once — what 200 connected `/api/ops/analyze/stream` clients
queue — and the same Feishu questions again. Before the Feishu questions had a consumer of their
own (rca-worker-feishu) they waited behind the whole API backlog (42 s in the issue); the target
is an unchanged p50. On a 2-core machine the API analyses still take CPU from the Feishu ones.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from aegis.devkit.harness.binaries import find_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.services import ServiceProcess, SimulatedBackends
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.subjects import question_subject

QUESTION = "payment 5xx went up, why?"


async def feishu_latencies(client: Client, answered: dict[str, float], count: int) -> list[float]:
    """`count` Feishu questions one after the other; seconds from publish to result, each."""
    spent = []
    for _ in range(count):
        event = QuestionEvent(
            request_id=f"f-{uuid.uuid4().hex[:12]}", source="feishu", text=QUESTION, model="none"
        )
        started = time.perf_counter()
        await client.jetstream().publish(question_subject("feishu"), event.model_dump_json().encode())
        while event.request_id not in answered:
            if time.perf_counter() - started > 180:
                raise TimeoutError("a Feishu question got no answer within 180 s")
            await asyncio.sleep(0.01)
        spent.append(answered[event.request_id] - started)
    return spent


def describe(label: str, spent: list[float]) -> str:
    p95 = statistics.quantiles(spent, n=20)[-1] if len(spent) >= 2 else spent[0]
    return f"{label:<34} p50 {statistics.median(spent):6.2f} s   p95 {p95:6.2f} s   (n={len(spent)})"


async def measure(nats_url: str, questions: int, backlog: int) -> tuple[list[float], list[float], int]:
    client = await nats.connect(nats_url)
    answered: dict[str, float] = {}

    async def on_result(msg: Msg) -> None:
        answered.setdefault(RcaResult.model_validate_json(msg.data).request_id, time.perf_counter())

    await client.subscribe("aegis.rca.result.>", cb=on_result)
    try:
        alone = await feishu_latencies(client, answered, questions)
        api_ids = []
        for _ in range(backlog):
            event = QuestionEvent(
                request_id=f"a-{uuid.uuid4().hex[:12]}", source="api", text=QUESTION, model="none"
            )
            api_ids.append(event.request_id)
            await client.jetstream().publish(question_subject("api"), event.model_dump_json().encode())
        crowded = await feishu_latencies(client, answered, questions)
        api_done = sum(1 for request_id in api_ids if request_id in answered)
        return alone, crowded, api_done
    finally:
        await client.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--api-backlog", type=int, default=200)
    args = parser.parse_args(argv)
    binary = find_binary("nats-server")
    if binary is None:
        sys.exit("nats-server not found: make install")
    with tempfile.TemporaryDirectory(prefix="aegis-isolation-") as tmp:
        workdir = Path(tmp)
        with (
            NatsServer(binary, workdir / "nats") as server,
            SimulatedBackends(workdir, "exception", "payment", latency_ms=100) as backends,
        ):
            env = {
                "NATS_URL": server.url,
                "PROMETHEUS_BASE_URL": backends.urls["prometheus"],
                "LOKI_BASE_URL": backends.urls["loki"],
                "JAEGER_BASE_URL": backends.urls["jaeger"],
                "RCA_CONCURRENCY": "4",
                "LOG_LEVEL": "WARNING",
                "LOCALE": "en",
            }
            worker = ServiceProcess.http_service(
                "rca-worker", "aegis-rca-worker", {**os.environ, **env}, workdir / "worker.log"
            ).start()
            try:
                worker.wait_ready()
                alone, crowded, api_done = asyncio.run(measure(server.url, args.questions, args.api_backlog))
            finally:
                worker.stop()
    print(describe("Feishu questions, worker idle", alone))
    print(describe(f"Feishu questions, {args.api_backlog} API queued", crowded))
    print(f"API questions answered meanwhile: {api_done} of {args.api_backlog}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
