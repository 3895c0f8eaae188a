"""When the incident started: one change point shared by every signal of the evidence.

Every series (a metric, one operation's self-time, the time between a caller and one operation of
its callee) is split at each candidate time and scored as a robust shift of the part after against
the part before (median and MAD). Series that shift by `CHANGED_FROM` spreads somewhere are the ones
that changed; the onset is the candidate that best splits those into two flat segments (the largest
summed drop of L1 cost, each series' drop a share of its unsplit cost, so no single series decides).
The cost puts the onset where the change starts, not anywhere after it. Candidates are the metric
timestamps plus a fine grid over the trace samples, so traces, when they exist, date it to seconds.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from aegis.rca_worker.ranking.robust import median

MIN_SIDE = 3
CHANGED_FROM = 5.0
FINE_GRID_S = 5.0
MAX_CANDIDATES = 60
# Whether a series changed at all is probed at this many candidates; where it changed, at all of them.
PROBES = 12
MAX_SERIES_POINTS = 400


@dataclass(frozen=True)
class OnsetSeries:
    """Time-ordered values of one signal and the smallest spread that counts as real variation."""

    times: list[float]
    values: list[float]
    floor: float
    relative: float = 0.0


def as_onset_series(
    points: Sequence[tuple[float, float]], floor: float, relative: float = 0.0
) -> OnsetSeries | None:
    """The points in time order (thinned evenly above `MAX_SERIES_POINTS`, the newest point always
    kept), or None if too few."""
    ordered = sorted(points)
    if len(ordered) < 2 * MIN_SIDE:
        return None
    if len(ordered) > MAX_SERIES_POINTS:
        last = len(ordered) - 1  # evenly, first and last kept: a change in the last steps stays visible
        ordered = [ordered[round(i * last / (MAX_SERIES_POINTS - 1))] for i in range(MAX_SERIES_POINTS)]
    return OnsetSeries([t for t, _ in ordered], [v for _, v in ordered], floor, relative)


def robust_shift(before: Sequence[float], after: Sequence[float], floor: float, relative: float) -> float:
    """|median(after) − median(before)| in spreads of `before` (1.4826·MAD, at least the floors)."""
    centre = median(before)
    mad = median([abs(v - centre) for v in before])
    spread = max(1.4826 * mad, floor, relative * abs(centre), 1e-12)
    return abs(median(after) - centre) / spread


def _candidates(series: Sequence[OnsetSeries], coarse: Sequence[float]) -> list[float]:
    grid = set(coarse)
    if len(grid) > MAX_CANDIDATES:
        ordered = sorted(grid)
        stride = len(ordered) / MAX_CANDIDATES
        grid = {ordered[int(i * stride)] for i in range(MAX_CANDIDATES)}
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


def onset(series: Sequence[OnsetSeries], coarse: Sequence[float], fallback: float) -> float:
    """The candidate time that best splits the changed `series` in two; `fallback` if none changed."""
    candidates = _candidates(series, coarse)
    changed: list[OnsetSeries] = []
    probes = candidates[:: max(1, len(candidates) // PROBES)]
    for s in series:
        for t in probes:
            cut = bisect.bisect_left(s.times, t)
            if cut < MIN_SIDE or len(s.times) - cut < MIN_SIDE:
                continue
            if robust_shift(s.values[:cut], s.values[cut:], s.floor, s.relative) >= CHANGED_FROM:
                changed.append(s)
                break
    best, best_gain = fallback, 0.0
    whole = [_l1(s.values) or 1e-12 for s in changed]
    for t in candidates:
        gain = 0.0
        for s, total in zip(changed, whole, strict=True):
            cut = bisect.bisect_left(s.times, t)
            if cut < MIN_SIDE or len(s.times) - cut < MIN_SIDE:
                continue
            gain += 1.0 - (_l1(s.values[:cut]) + _l1(s.values[cut:])) / total
        if gain > best_gain:
            best, best_gain = t, gain
    return best
