"""The rca-worker as deployed: answer latency, scaling over processes, digest size, memory.

    .venv/bin/python -m bench.worker [--questions 20] [--concurrency 1,2] [--rounds 6] [--skip-digest]

Every worker is a real `aegis-rca-worker` process on a real nats-server (from the wheel); questions
are published and answers read over NATS as the gateway and the notifier do.

1. Latency: a deterministic question (model none, "payment 5xx went up, why?", the default
   15-minute window and 30-minute baseline) → its `RcaResult`, p50/p95 over `--questions`, with a
   real Prometheus (Debian's binary, backfilled by promtool) and the Loki/Jaeger loopback fakes.
   Target p50 ≤ 2 s.
2. Scaling: every backend (the three fakes) answers after 300 ms, as remote ones do. The same
   question load runs against 1 worker process and then 4 (same settings, RCA_CONCURRENCY from
   `--concurrency`, each value in turn), `--rounds` questions per analysis slot; questions/s of
   each and the ratio. Target ≥ 3.5×. An analysis costs ~0.2 s of worker CPU (JSON decoding and
   trace digestion) plus ~0.09 s in the fakes: on a 2-core machine, 4 workers × 2 analyses each
   approach the CPU's limit, which the second value shows.
3. Digest: the evidence digest the LLM would receive, over the whole scenario set (168 incidents,
   whole estate, the default budget), estimated tokens p50/p95/max — also uncapped, to show what
   the budget cuts. Target p95 ≤ 6,000.
4. Memory: the latency worker's RSS after its questions, and after it also served questions with
   the Ollama and OpenAI clients loaded (against the scripted LLM fake). Target ≤ 250 MB.
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
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from aegis.devkit.fakes.llm import Reply, ScriptedLlm, report
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.services import ServiceProcess, SimulatedBackends
from aegis.rca_worker.llm.digest import build_digest
from aegis.shared.questions import ModelAlias, QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.streams import Topology, ensure_streams
from aegis.shared.subjects import question_subject, result_subject
from aegis.simulator.offline import analyse_offline
from aegis.simulator.real_prometheus import RealPrometheus, recent_start
from aegis.simulator.scenarios import Scenario, make_scenario, scenario_set
from aegis.simulator.telemetry import ScenarioTelemetry
from bench.measuring import percentile, rss_mb

BIN = Path(sys.executable).parent
QUESTION = "payment 5xx went up, why?"


class Workers:
    """`count` aegis-rca-worker processes with one environment."""

    def __init__(self, count: int, env: dict[str, str], log: Path) -> None:
        self.children = [
            ServiceProcess.http_service(f"rca-worker-{n}", "aegis-rca-worker", env, log).start()
            for n in range(count)
        ]

    async def ready(self) -> None:
        """Until every `/readyz` answers 200."""
        await asyncio.gather(*(child.ready() for child in self.children))

    def stop(self) -> None:
        """SIGTERM every worker and wait."""
        for child in self.children:
            child.stop()


class Answers:
    """Results arriving on aegis.rca.result.cli, by request id, with their arrival time."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, RcaResult]] = {}

    async def listen(self, client: Client) -> None:
        async def on_result(msg: Any) -> None:
            result = RcaResult.model_validate_json(msg.data)
            self.arrived.setdefault(result.request_id, (time.perf_counter(), result))

        await client.subscribe(result_subject("cli"), cb=on_result)

    async def wait(self, request_ids: list[str], timeout: float = 120.0) -> None:
        deadline = time.perf_counter() + timeout
        while not all(r in self.arrived for r in request_ids):
            if time.perf_counter() > deadline:
                missing = [r for r in request_ids if r not in self.arrived]
                raise TimeoutError(f"{len(missing)} questions unanswered")
            await asyncio.sleep(0.01)


async def ask(client: Client, text: str = QUESTION, model: ModelAlias | None = "none") -> str:
    """Publish one question; its request id."""
    event = QuestionEvent(request_id=f"b-{uuid.uuid4().hex[:16]}", source="cli", text=text, model=model)
    await client.jetstream().publish(
        question_subject("cli"), event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.request_id}
    )
    return event.request_id


async def latency_and_memory(nats_url: str, urls: dict[str, str], runs: int, log: Path) -> dict[str, Any]:
    """Sequential deterministic questions against one worker; then the LLM clients, for memory."""
    llm = ScriptedLlm().start()
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "PROMETHEUS_BASE_URL": urls["prometheus"],
        "LOKI_BASE_URL": urls["loki"],
        "JAEGER_BASE_URL": urls["jaeger"],
        "OLLAMA_BASE_URL": llm.ollama_url,
        "DOUBAO_BASE_URL": llm.openai_url,
        "DOUBAO_API_KEY": "bench",
        "DOUBAO_MODEL": "doubao-bench",
        "LOG_LEVEL": "WARNING",
    }
    workers = Workers(1, env, log)
    client = await nats.connect(nats_url)
    try:
        await workers.ready()
        answers = Answers()
        await answers.listen(client)
        await answers.wait([await ask(client)])  # warm-up: connections, service-name cache
        took, degraded = [], 0
        for _ in range(runs):
            sent = time.perf_counter()
            request_id = await ask(client)
            await answers.wait([request_id])
            arrived, result = answers.arrived[request_id]
            took.append(arrived - sent)
            degraded += result.degraded
            top = result.root_causes[0].service if result.root_causes else "-"
        pid = workers.children[0].pid
        deterministic_rss = rss_mb(pid)
        body = report("payment fails.", [("payment", "errors (E1)", 0.9, ["E1"])], ["Check payment"])
        for model in ("qwen", "doubao", "qwen", "doubao"):
            llm.script(Reply(tool_calls=(("submit_report", body),)))
            await answers.wait([await ask(client, model=model)])
        return {
            "latency_p50_s": round(statistics.median(took), 3),
            "latency_p95_s": round(percentile(took, 0.95), 3),
            "questions": runs,
            "top_candidate": top,
            "degraded_answers": degraded,
            "rss_mb_deterministic": round(deterministic_rss, 1),
            "rss_mb_with_llm_clients": round(rss_mb(pid), 1),
            "rss_mb_peak": round(rss_mb(pid, "VmHWM"), 1),
        }
    finally:
        await client.close()
        workers.stop()
        llm.stop()


async def throughput(
    nats_url: str, urls: dict[str, str], count: int, concurrency: int, rounds: int, log: Path
) -> dict[str, float]:
    """Questions per second of `count` workers on a burst of `count × concurrency × rounds` questions."""
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "PROMETHEUS_BASE_URL": urls["prometheus"],
        "LOKI_BASE_URL": urls["loki"],
        "JAEGER_BASE_URL": urls["jaeger"],
        "RCA_CONCURRENCY": str(concurrency),
        "LOG_LEVEL": "WARNING",
    }
    workers = Workers(count, env, log)
    client = await nats.connect(nats_url)
    try:
        await workers.ready()
        answers = Answers()
        await answers.listen(client)
        await answers.wait([await ask(client) for _ in range(count * concurrency)])  # warm-up
        total = count * concurrency * rounds
        began = time.perf_counter()
        asked = [await ask(client) for _ in range(total)]
        await answers.wait(asked, timeout=600)
        elapsed = max(answers.arrived[r][0] for r in asked) - began
        return {"questions": total, "seconds": round(elapsed, 2), "per_second": round(total / elapsed, 3)}
    finally:
        await client.close()
        workers.stop()


def digest_tokens(scenario: Scenario) -> tuple[int, int]:
    """(capped, uncapped) estimated tokens of the whole-estate digest of one scenario."""
    analysis = asyncio.run(analyse_offline(ScenarioTelemetry(scenario)))
    capped = build_digest(analysis.bundle, analysis.ranking, [], {}, 6000)
    uncapped = build_digest(analysis.bundle, analysis.ranking, [], {}, 10**9)
    return capped.tokens, uncapped.tokens


def digest_sizes(jobs: int) -> dict[str, Any]:
    """Digest size over the scenario set."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        sizes = list(pool.map(digest_tokens, scenario_set(), chunksize=4))
    capped = [c for c, _ in sizes]
    uncapped = [u for _, u in sizes]
    return {
        "cases": len(sizes),
        "tokens_p50": int(statistics.median(capped)),
        "tokens_p95": percentile(capped, 0.95),
        "tokens_max": max(capped),
        "uncapped_p95": percentile(uncapped, 0.95),
        "uncapped_max": max(uncapped),
        "cases_cut_by_budget": sum(1 for c, u in sizes if u > c),
    }


async def serve_benchmarks(
    args: argparse.Namespace, workdir: Path, prometheus: str, promtool: str
) -> dict[str, Any]:
    log = workdir / "bench.log"
    results: dict[str, Any] = {}
    with NatsServer(BIN / "nats-server", workdir / "js") as nats_server:
        nats_url = nats_server.url
        client = await nats.connect(nats_url)
        await ensure_streams(client.jetstream(), Topology())
        await client.close()
        start = recent_start()
        telemetry = ScenarioTelemetry(make_scenario("exception", "payment", 1, start=start))
        with (
            SimulatedBackends(workdir, "exception", "payment", start_at=start) as fakes,
            RealPrometheus(telemetry, Path(prometheus), Path(promtool)) as real,
        ):
            results["latency"] = await latency_and_memory(
                nats_url, {**fakes.urls, "prometheus": real.url}, args.questions, log
            )
        results["scaling"] = []
        with SimulatedBackends(
            workdir, "exception", "payment", latency_ms=300.0, start_at=start
        ) as slow_fakes:
            slow = slow_fakes.urls
            for concurrency in args.concurrency:
                one = await throughput(nats_url, slow, 1, concurrency, args.rounds, log)
                four = await throughput(nats_url, slow, 4, concurrency, args.rounds, log)
                results["scaling"].append(
                    {
                        "backend_latency_ms": 300,
                        "concurrency_per_worker": concurrency,
                        "one_worker": one,
                        "four_workers": four,
                        "ratio": round(four["per_second"] / one["per_second"], 2),
                    }
                )
    return results


def main(argv: list[str]) -> int:
    """Run the benchmarks; 2 when the Prometheus binaries are missing."""
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=20, help="sequential questions for the latency")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 2],
        help="RCA_CONCURRENCY of each worker in the scaling runs, comma-separated",
    )
    parser.add_argument("--rounds", type=int, default=6, help="questions per analysis slot (scaling)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the digest sizes")
    parser.add_argument("--skip-digest", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("prometheus/promtool not found: install Debian's prometheus package", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="aegis-bench-worker-"))
    results = asyncio.run(serve_benchmarks(args, workdir, prometheus, promtool))
    if not args.skip_digest:
        results["digest"] = digest_sizes(args.jobs)
    if args.json:
        print(json.dumps(results))
        return 0
    latency = results["latency"]
    print(f"deterministic question → result, real Prometheus + fakes, {latency['questions']} questions:")
    print(
        f"  p50 {latency['latency_p50_s']:.3f} s, p95 {latency['latency_p95_s']:.3f} s (target p50 ≤ 2 s); "
        f"top candidate {latency['top_candidate']}, degraded {latency['degraded_answers']}"
    )
    for scaling in results["scaling"]:
        concurrency = scaling["concurrency_per_worker"]
        print(f"scaling, every backend answering after 300 ms, RCA_CONCURRENCY={concurrency}:")
        for name in ("one_worker", "four_workers"):
            run = scaling[name]
            label = name.replace("_", " ")
            print(f"  {label}: {run['questions']} questions in {run['seconds']} s = {run['per_second']} q/s")
        print(f"  4 workers / 1 worker = {scaling['ratio']}× (target ≥ 3.5×)")
    if "digest" in results:
        d = results["digest"]
        print(
            f"evidence digest over {d['cases']} scenarios (estimated tokens: CJK chars + other chars / 3.5):"
        )
        print(
            f"  p50 {d['tokens_p50']}, p95 {d['tokens_p95']}, max {d['tokens_max']} (target p95 ≤ 6000); "
            f"uncapped p95 {d['uncapped_p95']}, max {d['uncapped_max']}; "
            f"cut by the budget: {d['cases_cut_by_budget']}"
        )
    print(
        f"rca-worker RSS: {latency['rss_mb_deterministic']} MB after deterministic questions, "
        f"{latency['rss_mb_with_llm_clients']} MB with the Ollama and OpenAI clients loaded, "
        f"peak {latency['rss_mb_peak']} MB (target ≤ 250 MB)"
    )
    print(f"logs: {workdir / 'bench.log'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
