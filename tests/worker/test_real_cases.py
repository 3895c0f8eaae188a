"""A guard on real incidents: `aegis eval --dataset` over six committed real cases (Nezha Online
Boutique and Train Ticket, PetShop) still names the truth where the engine named it when committed."""

import tarfile
from pathlib import Path
from typing import Any

import pytest

from aegis.simulator.eval import run_all, run_dataset_case, summarise
from aegis.simulator.rcaeval import find_cases

CASES = Path(__file__).parent / "real_cases" / "cases.tar.xz"
# Where the truth ranks (1: named first) — when committed, and since the intermittent-series fix
# that raised PetShop from 0.27 to 0.42 at @1 moved its delay case here from first to second.
RANKED = {
    "adservice_exception/2": 1,
    "emailservice_cpu-contention/1": 1,
    "emailservice_network-delay/2": 2,
    "ts-contacts-service_network-delay/1": 1,
    "ts-route-service_network-delay/1": 1,
    "PetSearch-AWS-ECS-Fargate_delay/1": 1,
}


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The eval's per-case rows over the unpacked cases, as `aegis eval --dataset DIR --json` has them."""
    root = tmp_path_factory.mktemp("real-cases")
    with tarfile.open(CASES) as archive:
        archive.extractall(root, filter="data")
    report = summarise(run_all(find_cases(root), run_dataset_case, 1, False))
    return {row["case"]: row for row in report["per_case"]}


def test_every_committed_case_is_read_with_its_modalities(real_report: dict[str, dict[str, Any]]) -> None:
    """All six cases load; Train Ticket brings metrics, traces, logs and a call graph, PetShop metrics
    and its dependency.csv."""
    assert set(real_report) == set(RANKED)
    assert real_report["ts-route-service_network-delay/1"]["modalities"] == [
        "metrics",
        "traces",
        "logs",
        "graph",
    ]
    assert real_report["PetSearch-AWS-ECS-Fargate_delay/1"]["modalities"] == ["metrics", "graph"]


@pytest.mark.parametrize("case", sorted(RANKED))
def test_the_engine_still_ranks_the_truth_where_it_did(
    case: str, real_report: dict[str, dict[str, Any]]
) -> None:
    """The true root cause ranks no lower than when the case was committed."""
    rank = real_report[case]["rank"]
    assert isinstance(rank, int), real_report[case]
    assert rank <= RANKED[case], real_report[case]
