"""RCAEval's accuracy metrics: AC@k (is the true service among the first k distinct services) and Avg@5."""

from collections.abc import Sequence

KEYS = ("ac@1", "ac@3", "ac@5", "avg@5")


def normalise(service: str) -> str:
    """RCAEval's comparison key: the part before the first `_`, without a `-db` suffix."""
    name = service.split("_")[0]
    return name.removesuffix("-db")


def hit_ranks(ranking: Sequence[str], truth: str) -> int | None:
    """1-based position of `truth` among the distinct services of `ranking`, or None."""
    seen: list[str] = []
    for service in ranking:
        key = normalise(service)
        if key not in seen:
            seen.append(key)
    key = normalise(truth)
    return seen.index(key) + 1 if key in seen else None


def accuracy(positions: Sequence[int | None]) -> dict[str, float]:
    """{"ac@1", "ac@3", "ac@5", "avg@5"} over cases whose truth sat at `positions` (None = missed)."""
    if not positions:
        return dict.fromkeys(KEYS, 0.0)
    n = len(positions)

    def ac(k: int) -> float:
        return sum(1 for p in positions if p is not None and p <= k) / n

    return {
        "ac@1": round(ac(1), 4),
        "ac@3": round(ac(3), 4),
        "ac@5": round(ac(5), 4),
        "avg@5": round(sum(ac(k) for k in range(1, 6)) / 5, 4),
    }
