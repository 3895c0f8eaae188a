"""Feishu question latency while the analysis API is crowded, idle and crowded side by side.

    .venv/bin/python -m bench.isolation [--questions 12] [--api-backlog 200] [--rounds 3]

One real `aegis-rca-worker` process (RCA_CONCURRENCY 4) on a real nats-server, against the
simulator's backends (100 ms per backend call, as remote ones answer). A round has two phases of
`--questions` Feishu questions each, one after the other (publish → `RcaResult` on
aegis.rca.result.feishu): one with the worker idle, and one after `--api-backlog` API questions
were published at once — what 200 connected `/api/ops/analyze/stream` clients queue —, at whose
end the API clients "go away" (a cancel each, as alert-ingest publishes for a dropped SSE client)
and the worker drains them. Rounds alternate the order of the phases on the same process (idle
first, then crowded first, …) so that a shared machine's noise and drift fall on both alike: the
figure to read is the ratio of the p50s (target: unchanged, ≈ 1.0), per round and overall.

Beside the wall time: the time outside the analysis (the wall time less the worker's own
`total_ms`), and the two ends of the wall time: pick-up (publish → delivery → the worker starts
the analysis and says so: its first progress event heard) and return (the answer's own progress
event heard → the answer heard). Both ends of each are read on this process's clock, from one
subscription that hears the worker's messages in the order it sent them, so neither can be below
zero. (Splitting with the worker's `elapsed_ms` mixed two clocks: the return, about 0, could read
-1 ms.) The pick-up holds the analysis's first moments too, up to its first step's start, so it
can exceed the time outside the analysis. Then the worker's own CPU time per Feishu question
(from /proc), which shows how much of the crowd's work still runs in the process while Feishu
questions are analysed and which the neighbours' load disturbs far less, and the median of each
analysis step. `--think-s` leaves time between an answer and the next question, in which the API
analyses run at full speed (their CPU then counts too).
`--api-backlog 0` shows the machine's own noise between the two phases.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from aegis.devkit.harness.binaries import find_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.services import ServiceProcess, SimulatedBackends
from aegis.shared.consumers import WORKER_API
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.streams import QUESTIONS_STREAM
from aegis.shared.subjects import (
    RCA,
    QuestionSource,
    cancel_subject,
    progress_subject,
    question_subject,
    result_subject,
)
from bench.measuring import cpu_seconds, percentile

QUESTION = "payment 5xx went up, why?"
PROGRESS_PREFIX = progress_subject("")
RESULT_PREFIX = result_subject("feishu").removesuffix("feishu")
DRAIN_TIMEOUT_S = 300.0


@dataclass
class Phase:
    """The Feishu questions of one phase: seconds from publish to result, the worker's CPU
    seconds over the phase, and the step timings of each result."""

    spent: list[float] = field(default_factory=list)
    picked_up: list[float] = field(default_factory=list)
    returned: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    steps: list[dict[str, int]] = field(default_factory=list)


@dataclass
class Round:
    idle: Phase
    crowded: Phase
    api_done: int


class Asker:
    """Publishes questions and notes when each one's first and last progress event and its result
    arrived, on this process's clock (`time.perf_counter`)."""

    def __init__(self, client: Client, worker_pid: int, think_s: float) -> None:
        self.client = client
        self.worker_pid = worker_pid
        self.think_s = think_s
        self.answered: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.last_progress: dict[str, float] = {}
        self.timings: dict[str, dict[str, int]] = {}

    async def on_message(self, msg: Msg) -> None:
        """A progress event or a result, in the order the worker sent them (one subscription: its
        callback runs for one message after the other, as they arrive)."""
        heard = time.perf_counter()
        if msg.subject.startswith(PROGRESS_PREFIX):
            request_id = msg.subject.removeprefix(PROGRESS_PREFIX)
            if request_id.startswith("f-") and request_id not in self.answered:
                self.started.setdefault(request_id, heard)
                self.last_progress[request_id] = heard
        elif msg.subject.startswith(RESULT_PREFIX):
            result = RcaResult.model_validate_json(msg.data)
            self.answered.setdefault(result.request_id, heard)
            self.timings.setdefault(result.request_id, result.timings)

    async def ask(self, source: QuestionSource) -> str:
        event = QuestionEvent(
            request_id=f"{source[0]}-{uuid.uuid4().hex[:12]}", source=source, text=QUESTION, model="none"
        )
        await self.client.jetstream().publish(
            question_subject(event.source), event.model_dump_json().encode()
        )
        return event.request_id

    async def feishu_phase(self, count: int) -> Phase:
        """`count` Feishu questions one after the other."""
        phase = Phase()
        cpu_before = cpu_seconds(self.worker_pid)
        for _ in range(count):
            started = time.perf_counter()
            request_id = await self.ask("feishu")
            while request_id not in self.answered:
                if time.perf_counter() - started > 180:
                    raise TimeoutError("a Feishu question got no answer within 180 s")
                await asyncio.sleep(0.005)
            answered = self.answered[request_id]
            phase.spent.append(answered - started)
            # No progress heard (it is advisory): the whole wall time counts as the analysis.
            phase.picked_up.append(self.started.get(request_id, started) - started)
            phase.returned.append(answered - self.last_progress.get(request_id, answered))
            phase.steps.append(self.timings[request_id])
            await asyncio.sleep(self.think_s)
        phase.cpu_s = cpu_seconds(self.worker_pid) - cpu_before
        return phase

    async def go_away(self, request_ids: list[str]) -> None:
        """The API clients disconnect: a cancel for each unanswered question; wait until the worker
        holds and has none of them any more."""
        js = self.client.jetstream()
        for request_id in request_ids:
            if request_id not in self.answered:
                await js.publish(
                    cancel_subject(request_id), b"", headers={"Nats-Msg-Id": f"cancel-{request_id}"}
                )
        deadline = time.perf_counter() + DRAIN_TIMEOUT_S
        while True:
            info = await js.consumer_info(QUESTIONS_STREAM, WORKER_API.durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the worker did not drain the API backlog within {DRAIN_TIMEOUT_S:g} s")
            await asyncio.sleep(0.1)


async def measure(
    nats_url: str, worker_pid: int, questions: int, backlog: int, rounds: int, think_s: float
) -> list[Round]:
    client = await nats.connect(nats_url)
    asker = Asker(client, worker_pid, think_s)
    await client.subscribe(RCA, cb=asker.on_message)  # progress and results, in the order sent
    try:
        await asker.feishu_phase(1)  # warm-up: the first question fills the worker's caches
        measured = []
        for number in range(rounds):

            async def crowded_phase() -> tuple[Phase, int]:
                api_ids = [await asker.ask("api") for _ in range(backlog)]
                crowded = await asker.feishu_phase(questions)
                api_done = sum(1 for request_id in api_ids if request_id in asker.answered)
                await asker.go_away(api_ids)
                return crowded, api_done

            if number % 2 == 0:  # idle first, then crowded first: a drifting load favours neither
                idle = await asker.feishu_phase(questions)
                crowded, api_done = await crowded_phase()
            else:
                crowded, api_done = await crowded_phase()
                idle = await asker.feishu_phase(questions)
            measured.append(Round(idle, crowded, api_done))
        return measured
    finally:
        await client.close()


def step_medians(timings: list[dict[str, int]]) -> str:
    """Median milliseconds of each step the worker timed (its `RcaResult.timings`)."""
    names = sorted({name for t in timings for name in t if name.endswith("_ms")})
    medians = {name: statistics.median(t.get(name, 0) for t in timings) for name in names}
    return "  ".join(f"{name.removesuffix('_ms')} {ms:.0f}" for name, ms in medians.items())


def describe(label: str, phases: list[Phase]) -> str:
    spent = [s for phase in phases for s in phase.spent]
    cpu_ms = 1000 * sum(phase.cpu_s for phase in phases) / len(spent)
    # Publish → result, less the analysis itself (the worker's total_ms): delivery, pick-up, and
    # the result's way back. A duration within the wall time, so never below zero.
    outside_ms = [1000 * s - t["total_ms"] for p in phases for s, t in zip(p.spent, p.steps, strict=True)]
    pick_up_ms = [1000 * s for p in phases for s in p.picked_up]
    return_ms = [1000 * s for p in phases for s in p.returned]
    return (
        f"{label:<24} p50 {statistics.median(spent):5.2f} s   p95 {percentile(spent, 0.95):5.2f} s   "
        f"outside the analysis p50 {statistics.median(outside_ms):4.0f} ms   "
        f"pick-up (publish → first progress heard) p50 {statistics.median(pick_up_ms):.1f} ms, "
        f"return (the answer's progress → the answer) p50 {statistics.median(return_ms):.1f} ms, "
        f"both ends of each on this process's clock   worker CPU {cpu_ms:4.0f} ms/question   (n={len(spent)})"
    )


def report(rounds: list[Round], backlog: int) -> str:
    lines = []
    for number, measured in enumerate(rounds, 1):
        idle, crowded = statistics.median(measured.idle.spent), statistics.median(measured.crowded.spent)
        lines.append(
            f"round {number}: p50 idle {idle:5.2f} s, {backlog} API queued {crowded:5.2f} s, "
            f"ratio {crowded / idle:4.2f}   (API answered meanwhile: {measured.api_done})"
        )
    idle_phases, crowded_phases = [r.idle for r in rounds], [r.crowded for r in rounds]
    lines.append(describe("Feishu, worker idle", idle_phases))
    lines.append(f"  steps (median ms): {step_medians([t for p in idle_phases for t in p.steps])}")
    lines.append(describe(f"Feishu, {backlog} API queued", crowded_phases))
    lines.append(f"  steps (median ms): {step_medians([t for p in crowded_phases for t in p.steps])}")
    overall = statistics.median(s for p in crowded_phases for s in p.spent) / statistics.median(
        s for p in idle_phases for s in p.spent
    )
    per_round = statistics.median(
        statistics.median(r.crowded.spent) / statistics.median(r.idle.spent) for r in rounds
    )
    lines.append(
        f"p50 crowded / idle: {overall:.2f} over all rounds, median of the rounds' ratios {per_round:.2f}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=12, help="Feishu questions per phase")
    parser.add_argument("--api-backlog", type=int, default=200, help="API questions queued per round")
    parser.add_argument("--rounds", type=int, default=3, help="idle/crowded pairs of phases")
    parser.add_argument(
        "--think-s", type=float, default=0.0, help="seconds between an answer and the next Feishu question"
    )
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
                rounds = asyncio.run(
                    measure(
                        server.url, worker.pid, args.questions, args.api_backlog, args.rounds, args.think_s
                    )
                )
            finally:
                worker.stop()
    print(report(rounds, args.api_backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
