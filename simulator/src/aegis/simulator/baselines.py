"""The baselines every accuracy figure is printed next to: random, N-sigma and BARO-style scoring.

All three see the same metric series as the engine and, like RCAEval's methods, are told when the
fault was injected. They rank services by their most anomalous series after that time:
N-sigma with mean/standard deviation fitted before it, BARO with median/IQR (its robust variant).
"""

import random
import statistics
from collections.abc import Callable, Sequence

from aegis.rca_worker.evidence import MetricSeries
from aegis.rca_worker.ranking.robust import iqr, median


def _rank(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda s: (-scores[s], s))


def random_ranking(services: Sequence[str], seed: int) -> list[str]:
    """A seeded shuffle of the services."""
    shuffled = sorted(services)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def nsigma_ranking(series: Sequence[MetricSeries], inject: float, services: Sequence[str]) -> list[str]:
    """Services by max over their series of max |x − mean| / std after `inject`."""
    return _rank_by_deviation(
        series, inject, services, lambda before: (statistics.fmean(before), statistics.pstdev(before))
    )


def baro_ranking(series: Sequence[MetricSeries], inject: float, services: Sequence[str]) -> list[str]:
    """Services by max over their series of max |x − median| / IQR after `inject` (BARO's RobustScorer)."""
    return _rank_by_deviation(series, inject, services, lambda before: (median(before), iqr(before)))


def _rank_by_deviation(
    series: Sequence[MetricSeries],
    inject: float,
    services: Sequence[str],
    scale: Callable[[list[float]], tuple[float, float]],
) -> list[str]:
    """Services by max over their series of max |x − centre| / spread after `inject`, where
    `scale` gives (centre, spread) of the points before it (a spread of 0 counts as 1)."""
    scores = dict.fromkeys(services, 0.0)
    for s in series:
        before = [v for t, v in s.points if t < inject]
        after = [v for t, v in s.points if t >= inject]
        if len(before) < 3 or not after:
            continue
        centre, spread = scale(before)
        spread = spread or 1.0
        scores[s.service] = max(scores.get(s.service, 0.0), max(abs(v - centre) / spread for v in after))
    return _rank(scores)
