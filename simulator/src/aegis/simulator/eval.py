"""`aegis eval`: how often the engine names the root cause, next to baselines, in one harness.

Runs the rca-worker's analysis graph with model `none` (read-only client, tools, ranking, guard)
over the simulator's scenario set — or over RCAEval case folders with `--dataset DIR`, entering the
graph at its ranking step — and prints AC@1/3/5 and Avg@5 per fault, for propagation-heavy cases and
overall, beside random, N-sigma and BARO-style rankings of the same evidence; then, per case, where
the truth landed, the modalities the case had and the ones that carried the top answer, how far the
onset the engine detects on its own lies from the injection, and the time the case took. `--json`
prints one object with exactly the documented keys. `--model ALIAS` compares the answers with and
without a model instead (see `model_eval.py`).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.pipeline.rank import Analysis
from aegis.rca_worker.ranking.candidates import carried_by, detect_onset
from aegis.simulator.baselines import baro_ranking, nsigma_ranking, random_ranking
from aegis.simulator.model_eval import run_model_eval
from aegis.simulator.offline import analyse_offline, rank_recorded
from aegis.simulator.rcaeval import DatasetCase, find_cases, load_case
from aegis.simulator.realism import DEFAULT, SWITCHES, parse_realism
from aegis.simulator.scenarios import FAULTS, Scenario, scenario_set
from aegis.simulator.scoring import accuracy, hit_ranks
from aegis.simulator.telemetry import ScenarioTelemetry

BASELINES = ("random", "nsigma", "baro")
T = TypeVar("T")


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
    modalities: tuple[str, ...] = ()
    carried_by: tuple[str, ...] = ()
    onset_error_s: float | None = None
    seconds: float = 0.0
    rank_ms: int = 0


def modalities(bundle: EvidenceBundle) -> tuple[str, ...]:
    """The kinds of evidence a bundle holds: metrics, traces, logs, and a call graph."""
    present = (
        ("metrics", bool(bundle.metrics)),
        ("traces", bool(bundle.operations or bundle.trace_stats)),
        ("logs", bool(bundle.log_templates)),
        ("graph", bool(bundle.edges)),
    )
    return tuple(name for name, there in present if there)


def _outcome(
    case_id: str,
    fault: str,
    root: str,
    heavy: bool,
    analysis: Analysis,
    inject: float,
    seed: int,
    onset: float | None,
    began: float,
) -> CaseOutcome:
    bundle = analysis.bundle
    ranking = [s.service for s in analysis.ranking.services]
    top = analysis.ranking.services[0] if analysis.ranking.services else None
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
        modalities(bundle),
        tuple(carried_by(top)) if top is not None else (),
        None if onset is None else round(onset - inject, 1),
        round(time.perf_counter() - began, 2),
        int(analysis.timings.get("rank_ms", 0)),
    )


def run_case(job: Coroutine[Any, Any, T]) -> T:
    """`job` on a fresh event loop, as `asyncio.run` but without its SIGINT handler: restoring that
    handler formats the finished task, result and all, which costs seconds on a large analysis."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(job)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def run_scenario(scenario: Scenario) -> CaseOutcome:
    """Simulate one scenario, analyse it through the fakes, and score the engine and the baselines."""
    began = time.perf_counter()
    telemetry = ScenarioTelemetry(scenario)
    analysis = run_case(analyse_offline(telemetry))
    return _outcome(
        scenario.case_id,
        scenario.fault,
        scenario.root,
        telemetry.propagation_heavy,
        analysis,
        scenario.inject_time,
        scenario.rng_seed,
        detect_onset(analysis.bundle),
        began,
    )


def run_dataset_case(case: DatasetCase) -> CaseOutcome:
    """Load one RCAEval case folder, rank it, and score the engine and the baselines.

    The ranking is told the injection time (as RCAEval's methods and the baselines are, and as an
    alert's start tells the live worker); the onset is also detected without it, to report its error.
    """
    began = time.perf_counter()
    bundle = load_case(case)
    analysis = run_case(rank_recorded(case.case_id, bundle))
    baro = baro_ranking(bundle.metrics, case.inject_time, bundle.services)
    heavy = bool(baro) and baro[0] != case.root
    onset = detect_onset(bundle)
    return _outcome(
        case.case_id,
        case.fault,
        case.root,
        heavy,
        analysis,
        case.inject_time,
        len(case.case_id),
        onset,
        began,
    )


def _progress(done: int, total: int, out: TextIO) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    out.write(f"\r  evaluating [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        out.write("\n")
    out.flush()


def run_all(
    jobs: list[Any], work: Callable[[Any], CaseOutcome], workers: int, show: bool
) -> list[CaseOutcome]:
    """`work` over `jobs` in `workers` processes (1: in this one), outcomes sorted by case id."""
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


ONSET_TOLERANCE_S = 60.0


def onset_summary(outcomes: list[CaseOutcome]) -> dict[str, float]:
    """How far the detected onsets lie from the injections: the share of all cases within 60 s (a case
    whose evidence shows no change has no onset and counts as outside), how many had none, and the
    median, p80 and largest |error| of those that had one."""
    errors = sorted(abs(o.onset_error_s) for o in outcomes if o.onset_error_s is not None)
    within = sum(e <= ONSET_TOLERANCE_S for e in errors)
    return {
        "within_60s": round(within / len(outcomes), 4) if outcomes else 0.0,
        "undetected": len(outcomes) - len(errors),
        "median_abs_s": round(statistics.median(errors), 1) if errors else 0.0,
        "p80_abs_s": round(errors[min(len(errors) - 1, int(0.8 * len(errors)))], 1) if errors else 0.0,
        "max_abs_s": round(errors[-1], 1) if errors else 0.0,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def time_summary(outcomes: list[CaseOutcome]) -> dict[str, float]:
    """Seconds per case (load, rank, score): mean and p95; and the rank step's p95 alone."""
    seconds = [o.seconds for o in outcomes] or [0.0]
    return {
        "mean_s": round(statistics.fmean(seconds), 2),
        "p95_s": round(_p95(seconds), 2),
        "rank_p95_s": round(_p95([o.rank_ms / 1000 for o in outcomes]), 3),
    }


def case_row(outcome: CaseOutcome) -> dict[str, Any]:
    """One case as the `--json` report lists it: truth and its rank, the top five, modalities, time."""
    return {
        "case": outcome.case_id,
        "fault": outcome.fault,
        "root": outcome.root,
        "rank": outcome.engine,
        "baselines": outcome.baselines,
        "top": list(outcome.top),
        "modalities": list(outcome.modalities),
        "carried_by": list(outcome.carried_by),
        "onset_error_s": outcome.onset_error_s,
        "seconds": outcome.seconds,
    }


def summarise(outcomes: list[CaseOutcome]) -> dict[str, Any]:
    """The `--json` object: cases, overall, propagation_heavy, by_fault, baselines, onset, time, and
    per case its row (`per_case`) and the cases missed at @1 (`misses`)."""
    by_fault: dict[str, list[int | None]] = defaultdict(list)
    for o in outcomes:
        by_fault[o.fault].append(o.engine)
    return {
        "cases": len(outcomes),
        "overall": accuracy([o.engine for o in outcomes]),
        "propagation_heavy": accuracy([o.engine for o in outcomes if o.propagation_heavy]),
        "by_fault": {fault: accuracy(positions) for fault, positions in sorted(by_fault.items())},
        "baselines": {name: accuracy([o.baselines[name] for o in outcomes]) for name in BASELINES},
        "onset": onset_summary(outcomes),
        "time": time_summary(outcomes),
        "per_case": [case_row(o) for o in outcomes],
        "misses": [o.case_id for o in outcomes if o.engine != 1],
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
    onset, spent = summary["onset"], summary["time"]
    rows.append(
        f"onset detected within 60 s of the injection: {onset['within_60s']:.0%} of cases, none in "
        f"{onset['undetected']:g} (|error| median {onset['median_abs_s']:g} s, p80 {onset['p80_abs_s']:g} s, "
        f"max {onset['max_abs_s']:g} s); "
        f"time per case: mean {spent['mean_s']:g} s, p95 {spent['p95_s']:g} s "
        f"(rank step p95 {spent['rank_p95_s']:g} s)"
    )
    return "\n".join(rows)


def render_cases(outcomes: list[CaseOutcome], only_misses: bool) -> str:
    """One line per case: truth rank, top answer, modalities present and used, onset error, time."""
    lines = [f"  {'case':44} {'truth@':>6} {'top':28} {'had':28} {'carried by':18} {'onset±s':>8} {'s':>6}"]
    for o in outcomes:
        if only_misses and o.engine == 1:
            continue
        rank = "-" if o.engine is None else str(o.engine)
        onset = "-" if o.onset_error_s is None else f"{o.onset_error_s:+.0f}"
        lines.append(
            f"  {o.case_id[:44]:44} {rank:>6} {(o.top[0] if o.top else '-')[:28]:28} "
            f"{'+'.join(o.modalities) or '-':28} {'+'.join(o.carried_by) or '-':18} "
            f"{onset:>8} {o.seconds:>6.2f}"
        )
    missed = [o for o in outcomes if o.engine != 1]
    by_fault: dict[str, int] = defaultdict(int)
    for o in missed:
        by_fault[o.fault] += 1
    lines.append(
        f"  missed at @1: {len(missed)} of {len(outcomes)}"
        + (" (" + ", ".join(f"{f} {n}" for f, n in sorted(by_fault.items())) + ")" if missed else "")
    )
    return "\n".join(lines)


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
    parser.add_argument(
        "--realism",
        default=DEFAULT.name,
        help=f"how real the simulated telemetry looks: classic (none of them), realistic (all of them), "
        f"or some of {', '.join(SWITCHES)}, comma-separated (default {DEFAULT.name})",
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases (quick runs)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--misses", action="store_true", help="list only the cases missed at @1 below the table"
    )
    parser.add_argument("--cases", action="store_true", help="list every case below the table")
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
        outcomes = run_all(cases, run_dataset_case, args.jobs, show)
    else:
        faults = [f.strip() for f in args.faults.split(",") if f.strip()]
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            print(
                f"--faults: unknown {', '.join(unknown)}; expected some of {', '.join(FAULTS)}",
                file=sys.stderr,
            )
            return 2
        try:
            realism = parse_realism(args.realism)
        except ValueError as error:
            print(f"--realism: {error}", file=sys.stderr)
            return 2
        seeds = tuple(range(args.first_seed, args.first_seed + args.seeds))
        scenarios = [s for s in scenario_set(seeds, realism) if s.fault in faults]
        scenarios = scenarios[: args.limit or None]
        if args.model:
            return run_model_eval(args.model, scenarios, args.json, sys.stdout)
        outcomes = run_all(scenarios, run_scenario, args.jobs, show)
    summary = summarise(outcomes)
    if args.json:
        print(json.dumps(summary, sort_keys=False))
    else:
        print(render_table(outcomes, summary))
        if args.misses or args.cases or args.dataset is not None:
            print(render_cases(outcomes, only_misses=args.misses and not args.cases))
    return 0


def run() -> None:
    """Console script `aegis-eval`."""
    raise SystemExit(main(sys.argv[1:]))
