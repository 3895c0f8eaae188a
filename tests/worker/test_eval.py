"""`aegis eval`: the JSON report's exact shape, and scoring case folders in RCAEval's layout."""

import json
from pathlib import Path
from typing import Any

import pytest

from aegis.simulator.eval import main
from aegis.simulator.rcaeval import find_cases, load_case
from aegis.simulator.rcaeval_export import export_case
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.scoring import accuracy, hit_ranks
from aegis.simulator.telemetry import ScenarioTelemetry

METRIC_KEYS = {"ac@1", "ac@3", "ac@5", "avg@5"}


def _check_shape(report: dict[str, Any]) -> None:
    assert set(report) == {
        "cases",
        "overall",
        "propagation_heavy",
        "by_fault",
        "baselines",
        "onset",
        "time",
        "per_case",
        "misses",
    }
    assert len(report["per_case"]) == report["cases"]
    for row in report["per_case"]:
        assert set(row) == {
            "case",
            "fault",
            "root",
            "rank",
            "baselines",
            "top",
            "modalities",
            "carried_by",
            "onset_error_s",
            "seconds",
        }
        assert set(row["modalities"]) <= {"metrics", "traces", "logs", "graph"}
    assert report["misses"] == [row["case"] for row in report["per_case"] if row["rank"] != 1]
    assert set(report["onset"]) == {"within_60s", "undetected", "median_abs_s", "p80_abs_s", "max_abs_s"}
    assert set(report["time"]) == {"mean_s", "p95_s", "rank_p95_s"}
    assert set(report["overall"]) == METRIC_KEYS
    assert set(report["propagation_heavy"]) == METRIC_KEYS
    assert set(report["baselines"]) == {"random", "nsigma", "baro"}
    for group in [*report["by_fault"].values(), *report["baselines"].values()]:
        assert set(group) == METRIC_KEYS
        assert all(0.0 <= v <= 1.0 for v in group.values())


def test_eval_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json`: one object of cases, overall, propagation_heavy, by_fault, baselines (0–1), onset, time,
    a row per case and the misses."""
    assert main(["--json", "--no-progress", "--faults", "exception,down", "--limit", "3", "--jobs", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    _check_shape(report)
    assert report["cases"] == 3
    assert set(report["by_fault"]) == {"exception"}


def test_accuracy_counts_distinct_services_like_rcaeval() -> None:
    """AC@k counts distinct services (RCAEval's `_` and `-db` normalisation); Avg@5 is the mean of AC@1..5."""
    assert hit_ranks(["cart_cpu", "cart_mem", "catalog-db", "payment"], "payment") == 3
    assert hit_ranks(["catalog-db"], "catalog") == 1
    assert accuracy([1, 2, None, 6]) == {"ac@1": 0.25, "ac@3": 0.5, "ac@5": 0.5, "avg@5": 0.45}


@pytest.fixture
def rcaeval_dir(tmp_path: Path) -> Path:
    """Two simulated incidents written in RCAEval's folder layout; one also has a label.json."""
    export_case(ScenarioTelemetry(make_scenario("exception", "payment", 4)), tmp_path / "RE2-OB")
    folder = export_case(ScenarioTelemetry(make_scenario("cpu", "catalog", 4)), tmp_path / "RE2-OB", False)
    (folder / "label.json").write_text(json.dumps({"root_cause_service": "catalog"}), encoding="utf-8")
    return tmp_path


def test_rcaeval_folders_are_read_with_their_ground_truth(rcaeval_dir: Path) -> None:
    """Truth from the folder name (or label.json), inject time from inject_time.txt, evidence from CSVs."""
    cases = find_cases(rcaeval_dir)
    assert [(c.root, c.fault) for c in cases] == [("catalog", "cpu"), ("payment", "exception")]
    bundle = load_case(cases[1])
    assert bundle.change_hint == cases[1].inject_time
    assert {o.kind for o in bundle.operations} == {"self_time", "call_gap", "calls"}
    assert {m.signal for m in bundle.metrics} >= {
        "cpu",
        "memory",
        "latency_p95",
        "request_rate",
        "latency_50",
    }
    assert any("NullPointerException" in t.template for t in bundle.log_templates)
    assert bundle.trace_origins
    assert ("checkout", "payment") in bundle.edges
    assert [g.source for g in load_case(cases[0]).gaps] == ["jaeger"]


def test_a_workload_of_whole_numbers_counts_requests_per_row(tmp_path: Path) -> None:
    """PetShop's workload counts each 5-minute row's requests; Nezha's is a per-second rate: a column
    of whole numbers is read as counts, so an error ratio beside it is read as the errors it counts."""
    folder = tmp_path / "shop" / "search_error" / "1"
    folder.mkdir(parents=True)
    (folder / "inject_time.txt").write_text("1200\n", encoding="utf-8")
    rows = ["time,search_workload,search_error,cart_workload"]
    rows += [f"{300 * i},{130 + i % 3},0.0,{0.2 + i / 30:.4f}" for i in range(6)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    series = {(m.service, m.signal): m for m in load_case(find_cases(tmp_path)[0]).metrics}
    assert series[("search", "request_rate")].counts
    assert not series[("cart", "request_rate")].counts
    assert not series[("search", "error_ratio")].counts


def test_eval_scores_a_dataset_folder(rcaeval_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--dataset DIR --json` scores every case folder, same report shape."""
    assert main(["--dataset", str(rcaeval_dir), "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    _check_shape(report)
    assert report["cases"] == 2
    assert report["overall"]["ac@3"] == 1.0


def test_eval_lists_each_case_with_its_modalities_onset_and_time(
    rcaeval_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table run ends with one line per case (truth rank, modalities had and used, onset, seconds)
    and the count of misses at @1 by fault."""
    assert main(["--dataset", str(rcaeval_dir), "--no-progress", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "onset detected within 60 s of the injection" in out
    lines = {
        line.split()[0]: line.split() for line in out.splitlines() if "_cpu/" in line or "_exception/" in line
    }
    assert set(lines) == {"catalog_cpu/4", "payment_exception/4"}
    assert "metrics+traces+logs+graph" in lines["payment_exception/4"]
    assert "metrics+logs" in lines["catalog_cpu/4"]  # that folder was written without traces
    assert all(float(fields[-1]) > 0 for fields in lines.values())
    assert "missed at @1:" in out


def test_eval_refuses_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder without cases is a clear error naming --dataset, exit code 2."""
    assert main(["--dataset", str(tmp_path), "--json"]) == 2
    assert "--dataset" in capsys.readouterr().err
