"""Robust statistics: median/IQR baselines and anomaly scores (the onset lives in `onset`).

Median and inter-quartile range ignore the odd spike that means and standard deviations chase, so a
baseline fitted on "before" stays honest. An IQR floor per signal keeps a flat baseline (an error
ratio of exactly zero) from turning any blip into an infinite score.
"""

import statistics
from collections.abc import Sequence
from typing import Literal

SCORE_CAP = 50.0


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(lower quartile, median, upper quartile) of `values` (not empty), linear-interpolated like
    numpy's default (`statistics.quantiles`' inclusive method)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    low, middle, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, middle, high


def median(values: Sequence[float]) -> float:
    """The median of `values` (not empty)."""
    return statistics.median(values)


def iqr(values: Sequence[float]) -> float:
    """Inter-quartile range of `values` (not empty)."""
    low, _, high = quartiles(values)
    return high - low


def robust_scale(baseline: Sequence[float], floor: float) -> tuple[float, float]:
    """(median, spread) of `baseline`, the spread at least `floor` and a tenth of |median|."""
    low, centre, high = quartiles(baseline)
    return centre, max(high - low, floor, 0.1 * abs(centre), 1e-12)


def shift_score(
    baseline: Sequence[float],
    after: Sequence[float],
    floor: float,
    level: Literal["upper_quartile", "median"] = "upper_quartile",
) -> float:
    """Signed robust shift of `after` from `baseline`: (`level` of after − median) / spread."""
    if len(baseline) < 3 or not after:
        return 0.0
    centre, spread = robust_scale(baseline, floor)
    _, middle, high = quartiles(after)
    return max(-SCORE_CAP, min(SCORE_CAP, ((middle if level == "median" else high) - centre) / spread))


def drop_score(baseline: Sequence[float], after: Sequence[float], floor: float) -> float:
    """How far the low quartile of `after` fell below the baseline, in spreads (positive = fell)."""
    if len(baseline) < 3 or not after:
        return 0.0
    centre, spread = robust_scale(baseline, floor)
    return max(0.0, min(SCORE_CAP, (centre - quartiles(after)[0]) / spread))


def split_at(points: Sequence[tuple[float, float]], at: float) -> tuple[list[float], list[float]]:
    """Values before `at` and from `at` on."""
    before = [v for t, v in points if t < at]
    after = [v for t, v in points if t >= at]
    return before, after
