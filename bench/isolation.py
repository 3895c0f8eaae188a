"""Feishu question latency while the analysis API is crowded: separate consumers keep them apart.

    .venv/bin/python -m bench.isolation [--questions 10] [--api-backlog 200]

One real `aegis-rca-worker` process (RCA_CONCURRENCY 4) on a real nats-server, against the
simulator's backends (100 ms per backend call, as remote ones answer). First `--questions` Feishu
questions one after the other, alone: publish → `RcaResult` on aegis.rca.result.feishu, p50/p95.
Then `--api-backlog` API questions at once — what 200 connected `/api/ops/analyze/stream` clients
queue — and the same Feishu questions again. Before the Feishu questions had a consumer of their
own (rca-worker-feishu) they waited behind the whole API backlog (42 s in the issue); the target
is an unchanged p50. The median time of each analysis step is printed for both phases: with API
analyses paused only between steps, a Feishu question's backend calls still queued behind the up
to 48 calls the API analyses had under way at the backends (+0.3–0.8 s); now API calls wait while
a Feishu analysis runs and all API analyses share one analysis's calls. `--api-backlog 0` shows
the machine's own noise between the two phases.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
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


Steps = dict[str, list[float]]


async def feishu_latencies(
    client: Client, answered: dict[str, float], count: int, steps: Steps | None = None
) -> list[float]:
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


def step_medians(timings: list[dict[str, int]]) -> str:
    """Median milliseconds of each step the worker timed (its `RcaResult.timings`)."""
    names = sorted({name for t in timings for name in t if name.endswith("_ms")})
    medians = {name: statistics.median(t.get(name, 0) for t in timings) for name in names}
    return "  ".join(f"{name.removesuffix('_ms')} {ms:.0f}" for name, ms in medians.items())


def describe(label: str, spent: list[float]) -> str:
    p95 = statistics.quantiles(spent, n=20)[-1] if len(spent) >= 2 else spent[0]
    return f"{label:<34} p50 {statistics.median(spent):6.2f} s   p95 {p95:6.2f} s   (n={len(spent)})"


@dataclass
class Measured:
    alone: list[float]
    crowded: list[float]
    api_done: int
    alone_steps: list[dict[str, int]]
    crowded_steps: list[dict[str, int]]


async def measure(nats_url: str, questions: int, backlog: int) -> Measured:
    client = await nats.connect(nats_url)
    answered: dict[str, float] = {}
    timings: dict[str, dict[str, int]] = {}

    async def on_result(msg: Msg) -> None:
        result = RcaResult.model_validate_json(msg.data)
        answered.setdefault(result.request_id, time.perf_counter())
        timings.setdefault(result.request_id, result.timings)

    await client.subscribe("aegis.rca.result.>", cb=on_result)
    try:
        alone = await feishu_latencies(client, answered, questions)
        alone_steps = [t for request_id, t in timings.items() if request_id.startswith("f-")]
        api_ids = []
        for _ in range(backlog):
            event = QuestionEvent(
                request_id=f"a-{uuid.uuid4().hex[:12]}", source="api", text=QUESTION, model="none"
            )
            api_ids.append(event.request_id)
            await client.jetstream().publish(question_subject("api"), event.model_dump_json().encode())
        crowded = await feishu_latencies(client, answered, questions)
        api_done = sum(1 for request_id in api_ids if request_id in answered)
        feishu_steps = [t for request_id, t in timings.items() if request_id.startswith("f-")]
        return Measured(alone, crowded, api_done, alone_steps, feishu_steps[len(alone_steps) :])
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
                measured = asyncio.run(measure(server.url, args.questions, args.api_backlog))
            finally:
                worker.stop()
    print(describe("Feishu questions, worker idle", measured.alone))
    print(f"  steps (median ms): {step_medians(measured.alone_steps)}")
    print(describe(f"Feishu questions, {args.api_backlog} API queued", measured.crowded))
    print(f"  steps (median ms): {step_medians(measured.crowded_steps)}")
    print(f"API questions answered meanwhile: {measured.api_done} of {args.api_backlog}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
