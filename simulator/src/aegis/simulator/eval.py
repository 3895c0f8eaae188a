"""`aegis eval`: how often the engine names the root cause, next to baselines, in one harness.

Runs the rca-worker's analysis graph with model `none` (read-only client, tools, ranking, guard)
over the simulator's scenario set — or over RCAEval case folders with `--dataset DIR`, entering the
graph at its ranking step — and prints AC@1/3/5 and Avg@5 per fault, for propagation-heavy cases and
overall, beside random, N-sigma and BARO-style rankings of the same evidence. `--json` prints one
object with exactly the documented keys. `--model ALIAS` compares the answers with and without a
model instead (see `model_eval.py`).
"""

import argparse
import asyncio
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from aegis.rca_worker.evidence import EvidenceBundle
from aegis.simulator.baselines import baro_ranking, nsigma_ranking, random_ranking
from aegis.simulator.model_eval import run_model_eval
from aegis.simulator.offline import analyse_offline, rank_recorded
from aegis.simulator.rcaeval import DatasetCase, find_cases, load_case
from aegis.simulator.scenarios import FAULTS, Scenario, scenario_set
from aegis.simulator.scoring import accuracy, hit_ranks
from aegis.simulator.telemetry import ScenarioTelemetry

BASELINES = ("random", "nsigma", "baro")


@dataclass(frozen=True)
class CaseOutcome:
    """Where the truth landed in each ranking of one case."""

    case_id: str
    fault: str
    root: str
    propagation_heavy: bool
    engine: int | None
    baselines: dict[str, int | None]
    top: tuple[str, ...]


def _outcome(
    case_id: str,
    fault: str,
    root: str,
    heavy: bool,
    bundle: EvidenceBundle,
    ranking: list[str],
    inject: float,
    seed: int,
) -> CaseOutcome:
    services = sorted(set(bundle.services) | {s.service for s in bundle.metrics})
    baselines = {
        "random": random_ranking(services, seed),
        "nsigma": nsigma_ranking(bundle.metrics, inject, services),
        "baro": baro_ranking(bundle.metrics, inject, services),
    }
    return CaseOutcome(
        case_id,
        fault,
        root,
        heavy,
        hit_ranks(ranking, root),
        {name: hit_ranks(r, root) for name, r in baselines.items()},
        tuple(ranking[:5]),
    )


def run_scenario(scenario: Scenario) -> CaseOutcome:
    """Simulate one scenario, analyse it through the fakes, and score the engine and the baselines."""
    telemetry = ScenarioTelemetry(scenario)
    analysis = asyncio.run(analyse_offline(telemetry))
    ranking = [s.service for s in analysis.ranking.services]
    return _outcome(
        scenario.case_id,
        scenario.fault,
        scenario.root,
        telemetry.propagation_heavy,
        analysis.bundle,
        ranking,
        scenario.inject_time,
        scenario.rng_seed,
    )


def run_dataset_case(case: DatasetCase) -> CaseOutcome:
    """Load one RCAEval case folder, rank it, and score the engine and the baselines."""
    bundle = load_case(case)
    ranking = [s.service for s in asyncio.run(rank_recorded(case.case_id, bundle)).ranking.services]
    baro = baro_ranking(bundle.metrics, case.inject_time, bundle.services)
    heavy = bool(baro) and baro[0] != case.root
    return _outcome(
        case.case_id, case.fault, case.root, heavy, bundle, ranking, case.inject_time, len(case.case_id)
    )


def _progress(done: int, total: int, out: TextIO) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    out.write(f"\r  evaluating [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        out.write("\n")
    out.flush()


def _run_all(
    jobs: list[Any], work: Callable[[Any], CaseOutcome], workers: int, show: bool
) -> list[CaseOutcome]:
    outcomes: list[CaseOutcome] = []

    def results() -> Iterator[CaseOutcome]:
        if workers <= 1:
            yield from map(work, jobs)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(work, jobs, chunksize=2)

    for outcome in results():
        outcomes.append(outcome)
        if show:
            _progress(len(outcomes), len(jobs), sys.stderr)
    return sorted(outcomes, key=lambda o: o.case_id)


def summarise(outcomes: list[CaseOutcome]) -> dict[str, Any]:
    """The `--json` object: cases, overall, propagation_heavy, by_fault, baselines."""
    by_fault: dict[str, list[int | None]] = defaultdict(list)
    for o in outcomes:
        by_fault[o.fault].append(o.engine)
    return {
        "cases": len(outcomes),
        "overall": accuracy([o.engine for o in outcomes]),
        "propagation_heavy": accuracy([o.engine for o in outcomes if o.propagation_heavy]),
        "by_fault": {fault: accuracy(positions) for fault, positions in sorted(by_fault.items())},
        "baselines": {name: accuracy([o.baselines[name] for o in outcomes]) for name in BASELINES},
    }


def render_table(outcomes: list[CaseOutcome], summary: dict[str, Any]) -> str:
    """The human-readable report."""
    rows = [f"{'':22} {'n':>4} {'AC@1':>6} {'AC@3':>6} {'AC@5':>6} {'Avg@5':>6}"]

    def row(name: str, n: int, m: dict[str, float]) -> None:
        rows.append(
            f"{name:22} {n:>4} {m['ac@1']:>6.3f} {m['ac@3']:>6.3f} {m['ac@5']:>6.3f} {m['avg@5']:>6.3f}"
        )

    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        counts[o.fault] += 1
    for fault, metrics in summary["by_fault"].items():
        row(f"fault {fault}", counts[fault], metrics)
    heavy = [o for o in outcomes if o.propagation_heavy]
    row("propagation-heavy", len(heavy), summary["propagation_heavy"])
    row("overall (engine)", len(outcomes), summary["overall"])
    for name in BASELINES:
        row(f"baseline {name}", len(outcomes), summary["baselines"][name])
        heavy_m = accuracy([o.baselines[name] for o in heavy])
        row("  … propagation-heavy", len(heavy), heavy_m)
    return "\n".join(rows)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of `aegis eval`."""
    parser = argparse.ArgumentParser(prog="aegis eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, help="score RCAEval-layout case folders under DIR instead")
    parser.add_argument(
        "--seeds", type=int, default=2, help="seeds per fault × service (default 2: 168 cases)"
    )
    parser.add_argument(
        "--first-seed", type=int, default=1, help="first seed (tune on others than you report)"
    )
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated subset of faults")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases (quick runs)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--misses", action="store_true", help="also list the cases the engine missed at @1")
    parser.add_argument(
        "--model",
        choices=("qwen", "glm", "deepseek", "doubao"),
        help="compare answers with and without this model (configured as the worker is, from the "
        "environment), and how often the guard repaired or rejected its report",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the evaluation; 0 on success, 2 on bad arguments or an empty dataset."""
    args = parse_args(argv)
    show = (not args.no_progress and sys.stderr.isatty()) or bool(os.environ.get("AEGIS_PROGRESS"))
    if args.dataset is not None:
        if not args.dataset.is_dir():
            print(f"--dataset: {args.dataset} is not a directory", file=sys.stderr)
            return 2
        cases = find_cases(args.dataset)[: args.limit or None]
        if not cases:
            print(f"--dataset: no case folder with inject_time.txt under {args.dataset}", file=sys.stderr)
            return 2
        outcomes = _run_all(cases, run_dataset_case, 1, show)
    else:
        faults = [f.strip() for f in args.faults.split(",") if f.strip()]
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            print(
                f"--faults: unknown {', '.join(unknown)}; expected some of {', '.join(FAULTS)}",
                file=sys.stderr,
            )
            return 2
        scenarios = [
            s
            for s in scenario_set(tuple(range(args.first_seed, args.first_seed + args.seeds)))
            if s.fault in faults
        ]
        scenarios = scenarios[: args.limit or None]
        if args.model:
            return run_model_eval(args.model, scenarios, args.json, sys.stdout)
        outcomes = _run_all(scenarios, run_scenario, args.jobs, show)
    summary = summarise(outcomes)
    if args.json:
        print(json.dumps(summary, sort_keys=False))
    else:
        print(render_table(outcomes, summary))
        if args.misses:
            for o in outcomes:
                if o.engine != 1:
                    print(f"  missed {o.case_id}: truth at {o.engine}, top {', '.join(o.top[:3])}")
    return 0


def run() -> None:
    """Console script `aegis-eval`."""
    raise SystemExit(main(sys.argv[1:]))
