"""When the incident started: one change point shared by every signal of the evidence.

Every series (a metric, one operation's self-time, the time between a caller and one operation of
its callee) is split at each candidate time, and the part after is scored as a robust shift against
the part before (median and MAD), each side within a horizon of the candidate: the normal just
before a change, not a day ago, is what it departs from. A series counts at a candidate only if it
shifts there by `CHANGED_FROM` spreads and its newest points are still out that way (the incident
lasts until someone asks); the onset is the candidate with the largest summed drop of L1 cost over
the series that count there, each series' drop a share of its unsplit cost, so no single series
decides and the onset falls where the change starts, not anywhere after it. Candidates are every
metric timestamp (a five-minute series has only a few points after the fault: none may be thinned
away) plus a fine grid over the trace samples, so traces, when they exist, date it to seconds.
Points are compared by time, so a gap in a sparse series is no change, and neither is a change of
its sampling step.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aegis.rca_worker.ranking.robust import median

MIN_SIDE = 3
CHANGED_FROM = 5.0
FINE_GRID_S = 5.0
MAX_CANDIDATES = 60
MAX_SERIES_POINTS = 400


@dataclass(frozen=True)
class OnsetSeries:
    """Time-ordered values of one signal and the smallest spread that counts as real variation."""

    times: list[float]
    values: list[float]
    floor: float
    relative: float = 0.0


def as_onset_series(
    points: Sequence[tuple[float, float]], floor: float, relative: float = 0.0, thin: bool = True
) -> OnsetSeries | None:
    """The points in time order (if `thin`, thinned evenly above `MAX_SERIES_POINTS`, the newest point
    always kept), or None if too few."""
    ordered = sorted(points)
    if len(ordered) < 2 * MIN_SIDE:
        return None
    if thin and len(ordered) > MAX_SERIES_POINTS:
        last = len(ordered) - 1  # evenly, first and last kept: a change in the last steps stays visible
        ordered = [ordered[round(i * last / (MAX_SERIES_POINTS - 1))] for i in range(MAX_SERIES_POINTS)]
    return OnsetSeries([t for t, _ in ordered], [v for _, v in ordered], floor, relative)


def robust_shift(before: Sequence[float], after: Sequence[float], floor: float, relative: float) -> float:
    """|median(after) − median(before)| in spreads of `before` (1.4826·MAD, at least the floors)."""
    return abs(_signed_shifts(before, [after], floor, relative)[0])


def _signed_shifts(
    before: Sequence[float], afters: Sequence[Sequence[float]], floor: float, relative: float
) -> list[float]:
    centre = median(before)
    mad = median([abs(v - centre) for v in before])
    spread = max(1.4826 * mad, floor, relative * abs(centre), 1e-12)
    return [(median(after) - centre) / spread for after in afters]


def _candidates(series: Sequence[OnsetSeries], coarse: Sequence[float]) -> list[float]:
    grid = set(coarse)
    fine = [s for s in series if len(s.times) >= 4 * MIN_SIDE]
    if fine:
        lo = min(s.times[MIN_SIDE] for s in fine)
        hi = max(s.times[-MIN_SIDE] for s in fine)
        t = lo - lo % FINE_GRID_S
        step = max(FINE_GRID_S, (hi - lo) / MAX_CANDIDATES)
        while t <= hi:
            grid.add(t)
            t += step
    return sorted(grid)


def _l1(values: Sequence[float]) -> float:
    centre = median(values)
    return sum(abs(v - centre) for v in values)


def _split_gain(
    before: list[float], after: list[float], present: float, floor: float, relative: float
) -> float:
    """0 unless the series shifts by `CHANGED_FROM` spreads of `before` at the split and its newest
    points (`present`) still lie that far out on the same side; then the share of its L1 cost the
    split saves (the exact step saves most)."""
    low, high = min(before), max(before)
    nearest = min(abs(low), abs(high)) if low * high > 0 else 0.0
    least = CHANGED_FROM * max(floor, relative * nearest)
    if present - low < least and high - present < least:
        return 0.0  # the newest points lie within the floors of every value before: no shift
    centre, level = median(before), median(after)
    shift = level - centre
    least = CHANGED_FROM * max(floor, relative * abs(centre), 1e-12)
    if abs(shift) < least or math.copysign(present - centre, shift) < least:
        return 0.0  # cheap reject on the floors before the MAD is computed
    spread = max(1.4826 * median([abs(v - centre) for v in before]), floor, relative * abs(centre), 1e-12)
    if abs(shift) < CHANGED_FROM * spread or math.copysign(present - centre, shift) < CHANGED_FROM * spread:
        return 0.0
    whole = _l1([*before, *after]) or 1e-12
    return 1.0 - (_l1(before) + _l1(after)) / whole


def onset(series: Sequence[OnsetSeries], coarse: Sequence[float], horizon: float = math.inf) -> float | None:
    """The candidate time that best splits the series shifting there in two; None if none does.

    Each series is judged within `horizon` on either side of a candidate; the first horizon of the
    window is the normal later points are judged against, never a change itself.
    """
    candidates = _candidates(series, coarse)
    gains = [0.0] * len(candidates)
    earliest = (
        min((s.times[0] for s in series), default=0.0) + horizon if math.isfinite(horizon) else -math.inf
    )
    for s in series:
        present = median(s.values[-MIN_SIDE:])
        times, n = s.times, len(s.times)
        lo = cut = hi = 0
        last: tuple[int, int, int] | None = None
        gain = 0.0
        for i, t in enumerate(candidates):
            if t < earliest:
                continue
            while lo < n and times[lo] < t - horizon:
                lo += 1
            while cut < n and times[cut] < t:
                cut += 1
            while hi < n and times[hi] < t + horizon:
                hi += 1
            if cut - lo < MIN_SIDE or hi - cut < MIN_SIDE:
                continue
            if last != (lo, cut, hi):
                last = (lo, cut, hi)
                gain = _split_gain(s.values[lo:cut], s.values[cut:hi], present, s.floor, s.relative)
            gains[i] += gain
    best = max(range(len(candidates)), key=lambda i: (gains[i], -i), default=None)
    return None if best is None or gains[best] <= 0 else candidates[best]
