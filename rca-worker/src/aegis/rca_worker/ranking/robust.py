"""Robust statistics: median/IQR baselines and anomaly scores (the onset lives in `onset`).

Median and inter-quartile range ignore the odd spike that means and standard deviations chase, so a
baseline fitted on "before" stays honest. An IQR floor per signal keeps a flat baseline (an error
ratio of exactly zero) from turning any blip into an infinite score.
"""

import statistics
from collections.abc import Sequence

SCORE_CAP = 50.0
# A level the baseline itself reached in this share of its points scores `TAIL_SCORE` at most.
TAIL_SHARE = 0.01
TAIL_SCORE = 3.0


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 < q < 1, to the percent) of `values` (not empty), linear-interpolated like
    numpy's default (`statistics.quantiles`' inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def median(values: Sequence[float]) -> float:
    """The median of `values` (not empty)."""
    return statistics.median(values)


def iqr(values: Sequence[float]) -> float:
    """Inter-quartile range of `values` (not empty)."""
    if len(values) == 1:
        return 0.0
    low, _, high = statistics.quantiles(values, n=4, method="inclusive")
    return high - low


def robust_scale(baseline: Sequence[float], floor: float) -> tuple[float, float]:
    """(median, spread) of `baseline`, the spread at least `floor` and a tenth of |median|."""
    centre = median(baseline)
    return centre, max(iqr(baseline), floor, 0.1 * abs(centre), 1e-12)


def tail_spread(baseline: Sequence[float], centre: float, up: bool) -> float:
    """The spread at which the baseline's own 1 % tail on that side scores `TAIL_SCORE`.

    An intermittent series (a node that serves a request or an error now and then) has a median
    and IQR of zero; without this, the odd request its normal already showed would score as an
    incident. A dense baseline's tail lies within a few IQRs, so this never widens its spread;
    a baseline too short to have a 1 % tail (fewer than 100 points) keeps its IQR.
    """
    if len(baseline) * TAIL_SHARE < 1.0:
        return 0.0
    edge = quantile(baseline, 1.0 - TAIL_SHARE) - centre if up else centre - quantile(baseline, TAIL_SHARE)
    return max(0.0, edge) / TAIL_SCORE


def shift_score(baseline: Sequence[float], after: Sequence[float], floor: float, q: float = 0.75) -> float:
    """Signed robust shift of `after` from `baseline`: (q-quantile of after − median) / spread."""
    if len(baseline) < 3 or not after:
        return 0.0
    centre, spread = robust_scale(baseline, floor)
    level = quantile(after, q) if q >= 0.5 else quantile(after, 1 - q)
    spread = max(spread, tail_spread(baseline, centre, up=level >= centre))
    return max(-SCORE_CAP, min(SCORE_CAP, (level - centre) / spread))


def drop_score(baseline: Sequence[float], after: Sequence[float], floor: float) -> float:
    """How far the low quartile of `after` fell below the baseline, in spreads (positive = fell)."""
    if len(baseline) < 3 or not after:
        return 0.0
    centre, spread = robust_scale(baseline, floor)
    spread = max(spread, tail_spread(baseline, centre, up=False))
    return max(0.0, min(SCORE_CAP, (centre - quantile(after, 0.25)) / spread))


def split_at(points: Sequence[tuple[float, float]], at: float) -> tuple[list[float], list[float]]:
    """Values before `at` and from `at` on."""
    before = [v for t, v in points if t < at]
    after = [v for t, v in points if t >= at]
    return before, after
