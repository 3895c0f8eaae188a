"""Root-cause accuracy side by side: the simulator and every dataset folder under a root, with baselines.

    .venv/bin/python -m bench.accuracy [--root DIR] [--seeds 2] [--jobs 2] [--json PATH] [--realism R]

Each dataset folder directly under `--root` (RCAEval layout, e.g. the unpacked `nezha-TT`,
`nezha-OB`, `petshop-low`) is scored by exactly what `aegis eval --dataset` runs, and the simulator
by what `aegis eval` runs: one table with the engine's AC@1/AC@3/Avg@5 beside random, N-sigma and
BARO AC@1, the share of cases whose detected onset lies within 60 s of the injection (a case with no
detected onset counts as outside; `none` says how many), the median, p80 and largest |onset error| of
the others, and the time per case and per rank step. `--json` also writes every figure (per fault
too) to a file.
`--realism` picks how real the simulator's telemetry looks, as `aegis eval --realism` does.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from aegis.simulator.eval import BASELINES, run_all, run_dataset_case, run_scenario, summarise
from aegis.simulator.rcaeval import find_cases
from aegis.simulator.realism import DEFAULT, Realism, parse_realism
from aegis.simulator.scenarios import scenario_set


def score_root(
    root: Path | None, seeds: int, jobs: int, realism: Realism = DEFAULT
) -> dict[str, dict[str, Any]]:
    """`summarise` of the simulator and of each dataset folder under `root`, with its wall time."""
    reports: dict[str, dict[str, Any]] = {}
    began = time.perf_counter()
    scenarios = scenario_set(tuple(range(1, 1 + seeds)), realism)
    reports["simulator"] = summarise(run_all(scenarios, run_scenario, jobs, False))
    reports["simulator"]["wall_s"] = round(time.perf_counter() - began, 1)
    for folder in sorted(p for p in (root.iterdir() if root else ()) if p.is_dir()):
        cases = find_cases(folder)
        if not cases:
            continue
        began = time.perf_counter()
        reports[folder.name] = summarise(run_all(cases, run_dataset_case, jobs, False))
        reports[folder.name]["wall_s"] = round(time.perf_counter() - began, 1)
    return reports


def render(reports: dict[str, dict[str, Any]]) -> str:
    """One row per data set: engine, baselines, onset, time."""
    head = f"{'data':14} {'n':>4} {'AC@1':>6} {'AC@3':>6} {'Avg@5':>6} " + " ".join(
        f"{name + '@1':>9}" for name in BASELINES
    )
    tail = f" {'onset≤60s':>9} {'none':>4} {'|err| med/p80/max s':>19} {'s/case':>7} {'rank p95':>8}"
    rows = [head + tail + f" {'wall s':>7}"]
    for name, r in reports.items():
        o = r["overall"]
        base = " ".join(f"{r['baselines'][b]['ac@1']:>9.3f}" for b in BASELINES)
        onset = r["onset"]
        spread = f"{onset['median_abs_s']:.0f}/{onset['p80_abs_s']:.0f}/{onset['max_abs_s']:.0f}"
        rows.append(
            f"{name:14} {r['cases']:>4} {o['ac@1']:>6.3f} {o['ac@3']:>6.3f} {o['avg@5']:>6.3f} {base} "
            f"{onset['within_60s']:>9.0%} {onset['undetected']:>4} {spread:>19} {r['time']['mean_s']:>7.2f} "
            f"{r['time']['rank_p95_s']:>8.3f} {r['wall_s']:>7.1f}"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    """Score everything, print the table, optionally write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="a folder of RCAEval-layout dataset folders")
    parser.add_argument("--seeds", type=int, default=2, help="simulator seeds per fault × service")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--realism",
        default=DEFAULT.name,
        help=f"the simulator's realism (see aegis eval; default {DEFAULT.name})",
    )
    args = parser.parse_args(argv)
    if args.root is not None and not args.root.is_dir():
        print(f"--root: {args.root} is not a directory", file=sys.stderr)
        return 2
    try:
        realism = parse_realism(args.realism)
    except ValueError as error:
        print(f"--realism: {error}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    reports = score_root(args.root, args.seeds, args.jobs, realism)
    print(render(reports))
    print(f"total {time.perf_counter() - began:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(reports, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
