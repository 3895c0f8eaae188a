"""Per-service findings: how far each signal moved after the change point, and what logs and traces say.

Findings are split by what they can prove. *Symptoms* (error ratio, latency, traffic) travel up the
call graph: a caller of a failing service shows them too. *Own* findings (saturation, restarts,
disappearance, self-time, error origins in traces, log lines of its own, blame in its callers' lines)
point at the service itself. The ranking weighs them differently for exactly that reason.

Traces are read per operation against that operation's own normal: a slow service shows in its
spans' self-time, a delayed one in the time between every caller and it (`call_gap`, attributed to
the end whose every call moved). Logs are read as template frequencies: a template that appears,
vanishes or changes its share of the service's lines is a finding whatever its level; a template
joined to its operation is read per call of that operation instead, and one that its still-called
operation stops printing (`LogFinding.skipped`) is evidence about the service's own code path.
A line of the normal path that appears is a new path only if the calls before were enough to have
shown it (a failure line that appears weighs by how surely they would have), and not when its
service stops failing (its completed calls print their lines again).
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field

from aegis.rca_worker.evidence import (
    CPU,
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    MEMORY,
    NODE_PREFIX,
    REQUEST_RATE,
    RESTARTS,
    TRAFFIC_PREFIX,
    EvidenceBundle,
    LogTemplate,
    MetricSeries,
    OperationTimings,
    TraceOrigin,
)
from aegis.rca_worker.failure_words import FAILURE_WORDS
from aegis.rca_worker.ranking.onset import robust_shift
from aegis.rca_worker.ranking.robust import (
    SCORE_CAP,
    TAIL_SCORE,
    drop_score,
    median,
    quantile,
    shift_score,
    split_at,
)
from aegis.shared.service_names import services_named

SYMPTOM_SIGNALS = (ERROR_RATIO, LATENCY_P95, LATENCY_P99, REQUEST_RATE)
FLOORS = {
    ERROR_RATIO: 0.01,
    LATENCY_P95: 0.005,
    LATENCY_P99: 0.005,
    REQUEST_RATE: 0.05,
    CPU: 0.02,
    MEMORY: 1e6,
}
ABSENT = "absent"
SELF_TIME = "self_time"
CALL_GAP = "call_gap"
# A latency must move by more than this share of its own median to count, whatever its MAD.
LATENCY_RELATIVE = 0.25
LATENCY_FLOOR_MS = 1.0
# A change is judged against this many metric steps on either side: the normal just before it. A
# latency not timed once in the steps of it that ended before the change has no recent normal.
HORIZON_STEPS = 12
# A series that stops only counts as an outage if it had at least this share of its points before.
DENSE_COVERAGE = 0.8
# Template counts are Poisson-like with extra spread: this share of the expected count is noise too.
LOG_OVERDISPERSION = 0.2
LOG_SHIFT_FROM = 3.0
# Fewer timed samples than this on a side say nothing about its normal or its present.
MIN_TIMED = 3
# A call gap that moved by more robust spreads than this counts as moved.
MOVED = 3.0
# A line counted per call of its operation is read in plain Poisson spreads, and must move by at
# least this share of its larger count (the requests' mix moves branches less); its score grows with it.
PATH_SCALE = 12.0
PATH_CHANGED_FROM = 0.7
# A line new after the change must be this unlikely to fall after by the split of its calls alone.
NEW_LINE_CHANCE = 0.1


@dataclass(frozen=True)
class SignalFinding:
    """One signal that moved: its robust score, level before and after, and the query showing it."""

    signal: str
    score: float
    before: float
    after: float
    query: str


@dataclass(frozen=True)
class LogFinding:
    """A log template that moved after the change: its score, whether it is a line its operation's
    calls stopped printing (`skipped`: evidence about the service's own code path), and whether it
    names a failure (`failing`, read once per analysis)."""

    burst: float
    template: LogTemplate
    skipped: bool = False
    failing: bool = False


@dataclass
class ServiceFindings:
    """Everything found about one service."""

    service: str
    symptoms: dict[str, SignalFinding] = field(default_factory=dict)
    own: dict[str, SignalFinding] = field(default_factory=dict)
    own_logs: list[LogFinding] = field(default_factory=list)
    blame_logs: list[LogFinding] = field(default_factory=list)
    origins: list[TraceOrigin] = field(default_factory=list)
    origin_excess: float = 0.0


def _floor(signal: str) -> float:
    return FLOORS.get(signal, 0.005 if signal.startswith("latency") else 1e-9)


def _is_symptom(signal: str) -> bool:
    return signal in SYMPTOM_SIGNALS or signal.startswith(("latency", TRAFFIC_PREFIX))


def _dense(series: MetricSeries, change: float, step: float) -> bool:
    times = [t for t, _ in series.points if t < change]
    expected = (change - times[0]) / step if times else 0.0
    return bool(times) and len(times) >= DENSE_COVERAGE * expected


def _finding(
    series: MetricSeries, change: float, end: float, step: float, requests: dict[float, float] | None = None
) -> SignalFinding | None:
    """How far one series moved after the change; `requests` (time → requests behind a point) lets an
    error ratio be read as the errors it counts (`error_count_shift`)."""
    before, after = split_at(series.points, change)
    if len(before) < 3:
        return None
    last_seen = series.points[-1][0] if series.points else change
    if not after or last_seen < end - max(4 * step, 0.1 * (end - change)):
        if not _dense(series, change, step):
            return None  # a sparse series stops and starts with its traffic: no outage
        return SignalFinding(ABSENT, 10.0, median(before), 0.0, series.query)
    if series.signal == RESTARTS:
        grew = max(after) - before[-1]
        return SignalFinding(
            RESTARTS, 6.0 + 2.0 * grew if grew >= 1 else 0.0, before[-1], max(after), series.query
        )
    floor = _floor(series.signal)
    recent = _recent_normal(series, change, step)
    if series.signal.startswith("latency"):
        if median(before) <= 0 or not recent:
            return None
        floor = max(floor, LATENCY_RELATIVE * abs(median(before)))
    counted = error_count_shift(series.points, requests, change) if series.signal == ERROR_RATIO else None
    up = shift_score(before, after, floor) if counted is None else counted
    if series.signal.startswith("latency") and max(recent) >= quantile(after, 0.75):
        # Slow already in its recent normal: not a slowdown that came with the change.
        up = min(up, TAIL_SCORE)
    if series.signal in (CPU, MEMORY):
        up = max(0.0, up)  # less CPU or memory is a consequence (less traffic), never a cause
    elif series.signal == REQUEST_RATE or not (series.signal in FLOORS or _is_symptom(series.signal)):
        if series.signal == REQUEST_RATE and median(before) <= 0:
            up = 0.0  # an intermittent caller's odd request: traffic with no normal level to rise from
        down = drop_score(before, after, floor)
        up = up if up >= down else -down
    level = sorted(after)[int(0.75 * (len(after) - 1))]
    return SignalFinding(series.signal, up, median(before), level, series.query)


def error_count_shift(
    points: list[tuple[float, float]], requests: dict[float, float] | None, change: float
) -> float | None:
    """Signed shift of an error ratio's errors after the change, counted: each point's ratio times the
    requests behind it, against the errors the requests after would make at the normal's error rate,
    in the Poisson spreads a log template's count is read in (`template_shift`).

    A ratio moves by one request's share of its point: 5 errors in 130 requests where 77 000 before
    had none is no noise at 4 %, one error in 10 requests is at 10 %. None where the points before or
    after have no requests to count them against (then the ratio is read as a level).
    """
    if not requests:
        return None
    counted = [(t, ratio * requests[t], requests[t]) for t, ratio in points if t in requests]
    before = [(errors, calls) for t, errors, calls in counted if t < change]
    after = [(errors, calls) for t, errors, calls in counted if t >= change]
    calls_before, calls_after = sum(c for _, c in before), sum(c for _, c in after)
    if calls_before <= 0 or calls_after <= 0:
        return None
    errors_before, errors_after = sum(e for e, _ in before), sum(e for e, _ in after)
    return template_shift(round(errors_before), round(errors_after), round(calls_before), round(calls_after))


def requests_per_point(metrics: list[MetricSeries], step: float) -> dict[tuple[str, str], dict[float, float]]:
    """Per (service, metric family), the requests behind each point of its request rate: a count as
    it is, a per-second rate times the metric step (the requests one step holds)."""
    found: dict[tuple[str, str], dict[float, float]] = {}
    for series in metrics:
        if series.signal == REQUEST_RATE:
            per = 1.0 if series.counts else step
            found.setdefault((series.service, series.family), {t: v * per for t, v in series.points})
    return found


def _recent_normal(series: MetricSeries, change: float, step: float) -> list[float]:
    """The series' values in its recent normal: the `HORIZON_STEPS` steps that ended before the
    change (the last step aside: it may hold the change).

    A latency with none there has no normal to be slow against: a callee called only from the change
    on (its caller took a new path) or last timed long before it (a sparse node's odd call) shows the
    first calls of a path, not evidence about it. A latency its recent normal already reached (at the
    level its points after the change mostly keep) did not slow with the change, however far above
    its older normal it is: a database slow since before the incident, or a recording joined to an
    older one, scores as a level its baseline reached (`TAIL_SCORE`, no change)."""
    return [v for t, v in series.points if change - (HORIZON_STEPS + 1) * step <= t < change - step]


def metrics_end(bundle: EvidenceBundle) -> dict[str, float]:
    """Where each signal's metrics end: its newest sample across services, never past the window.

    A series is judged stopped against this, not against the wall clock: a backend that lags behind
    "now" (Prometheus a scrape or more behind, a replayed incident far behind) ends every series of a
    signal early together, and only a series that stops while the others of its kind go on has gone
    silent. A signal only one service has keeps the window's end, as nothing else can tell.
    """
    newest: dict[str, dict[str, float]] = defaultdict(dict)
    for s in bundle.metrics:
        if s.points:
            seen = newest[s.signal]
            seen[s.service] = max(seen.get(s.service, -math.inf), s.points[-1][0])
    return {signal: min(bundle.end, max(by.values())) for signal, by in newest.items() if len(by) > 1}


def _typical_step(bundle: EvidenceBundle) -> float:
    gaps = [b[0] - a[0] for s in bundle.metrics for a, b in zip(s.points, s.points[1:], strict=False)]
    return median(gaps) if gaps else 60.0


def _split(buckets: list[tuple[float, int]], change: float) -> tuple[int, int]:
    before = sum(c for t, c in buckets if t < change - 1e-6)
    return before, sum(c for _, c in buckets) - before


def template_shift(
    before: int,
    after: int,
    service_before: int,
    service_after: int,
    overdispersion: float = LOG_OVERDISPERSION,
) -> float:
    """Signed shift of one template's count after the change against its share of the service before.

    A new template scores its count, a vanished one minus its expected count, each in Poisson
    spreads widened by `overdispersion`; a service that printed nothing before expects nothing.
    """
    if service_after == 0 and service_before == 0:
        return 0.0
    expected = before / service_before * service_after if service_before else 0.0
    spread = math.sqrt(expected + 1.0) + overdispersion * expected
    return max(-SCORE_CAP, min(SCORE_CAP, (after - expected) / spread))


def collect_findings(bundle: EvidenceBundle, change: float) -> dict[str, ServiceFindings]:
    """Findings for every service of the bundle (and every service the evidence names)."""
    names = sorted(
        set(bundle.services)
        | {s.service for s in bundle.metrics}
        | {t.service for t in bundle.log_templates}
        | {s.service for s in bundle.trace_stats}
        | {o.service for o in bundle.trace_origins}
    )
    found = {name: ServiceFindings(name) for name in names}
    step, ends = _typical_step(bundle), metrics_end(bundle)
    requests = requests_per_point(bundle.metrics, step)
    for series in bundle.metrics:
        if series.signal.startswith(NODE_PREFIX):
            continue  # the machine's load says nothing about which of its services is at fault
        behind = requests.get((series.service, series.family))
        finding = _finding(series, change, ends.get(series.signal, bundle.end), step, behind)
        if finding is None:
            continue
        target = found[series.service].symptoms if _is_symptom(finding.signal) else found[series.service].own
        previous = target.get(finding.signal)
        if previous is None or abs(finding.score) > abs(previous.score):
            target[finding.signal] = finding
    _log_findings(bundle, change, names, found)
    _trace_findings(bundle, change, found)
    _operation_findings(bundle.operations, change, found)
    return found


def _log_findings(
    bundle: EvidenceBundle, change: float, names: list[str], found: dict[str, ServiceFindings]
) -> None:
    counts = {id(t): _split(t.buckets, change) for t in bundle.log_templates}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for template in bundle.log_templates:
        before, after = counts[id(template)]
        totals[template.service][0] += before
        totals[template.service][1] += after
    failure = {id(t): bool(FAILURE_WORDS.search(t.template)) for t in bundle.log_templates}
    shifts = {
        id(t): _line_shift(t, counts[id(t)], totals[t.service], change, failure[id(t)])
        for t in bundle.log_templates
    }
    # A failure that stops being printed is the service recovering, and the lines it prints anew
    # without failing are its normal path resuming, not a new one.
    recovering = {
        t.service
        for t in bundle.log_templates
        if t.operation and failure[id(t)] and _fell(*counts[id(t)], _split(t.calls, change))
    }
    for template in bundle.log_templates:
        shift = shifts[id(template)]
        failing = failure[id(template)]
        if template.operation and (
            (shift < 0 and failing) or (shift > 0 and not failing and template.service in recovering)
        ):
            continue
        if shift == 0.0:
            continue
        # Drain may have turned the callee's name into a parameter: the sample line still names it.
        named = (
            [s for s in services_named(template.sample, names) if s != template.service] if shift > 0 else []
        )
        for other in named:
            found[other].blame_logs.append(LogFinding(shift / len(named), template, failing=failing))
        if not named:
            found[template.service].own_logs.append(
                LogFinding(
                    abs(shift), template, skipped=shift < 0 and bool(template.operation), failing=failing
                )
            )


def _line_shift(
    template: LogTemplate, counts: tuple[int, int], totals: list[int], change: float, failing: bool
) -> float:
    """Signed shift of one template (`failing`: it names a failure): per call of its operation where
    it is joined to one, else as its share of the service's lines (0 within `LOG_SHIFT_FROM`)."""
    before, after = counts
    if template.operation:
        calls = _split(template.calls, change)
        shift = _path_shift(before, after, calls)
        if before or not calls[0] or not calls[1] or not shift:
            return shift
        # A line new after the change may be a branch the few calls before did not take (a
        # request's parameters). A failure is news whatever branch printed it, but it weighs by how
        # unlikely the calls before were to miss it: none in 5 calls before when 5 of 12 after
        # print it says more than none in 5 before when 10 of 29 after do.
        chance = _chance_all_after(after, *calls)
        if not failing and chance > NEW_LINE_CHANCE:
            return 0.0
        surprise = min(1.0, math.log(chance) / math.log(NEW_LINE_CHANCE))
        return math.copysign(LOG_SHIFT_FROM + (abs(shift) - LOG_SHIFT_FROM) * surprise, shift)
    shift = template_shift(before, after, totals[0], totals[1])
    return shift if abs(shift) > LOG_SHIFT_FROM else 0.0


def _fell(before: int, after: int, calls: tuple[int, int]) -> bool:
    """Whether a line joined to its operation is printed per call at most 1 - `PATH_CHANGED_FROM`
    of its old rate while the operation is still called: however few its lines, it has stopped."""
    calls_before, calls_after = calls
    if not before or not calls_before or not calls_after:
        return False
    return after / calls_after <= (1.0 - PATH_CHANGED_FROM) * before / calls_before


def _path_shift(before: int, after: int, calls: tuple[int, int]) -> float:
    """Signed score of a template joined to its operation, from its lines and its operation's calls
    (before, after the change): 0 when the operation was not called before (no normal) or its count
    per call moved no further than Poisson noise or by less than `PATH_CHANGED_FROM` of the larger
    count, else growing with the share of calls that took another path (a vanished line's z is
    capped by how often it was seen)."""
    calls_before, calls_after = calls
    if not calls_before:
        return 0.0
    per_call = before / calls_before
    expected = per_call * calls_after  # the lines the calls after would print at the old rate
    # A call that prints a line k times moves k lines at once: the spread is counted in calls.
    z = (after - expected) / math.sqrt((expected + 1.0) * max(1.0, per_call))
    changed = 1.0 - min(after, expected) / max(after, expected) if max(after, expected) > 0 else 0.0
    if abs(z) <= LOG_SHIFT_FROM or changed < PATH_CHANGED_FROM:
        return 0.0  # the mix of requests moves a branch's share that much without a fault
    return math.copysign(LOG_SHIFT_FROM + PATH_SCALE * changed, z)


def _chance_all_after(after: int, calls_before: int, calls_after: int) -> float:
    """The chance that a line printed only after the change fell there by the split of its calls
    alone (both sides called): with the calls split as they are, all `after` lines land after with
    probability share^after. A branch the few calls before just did not happen to take (a
    request's parameters) is no new code path unless that chance is below `NEW_LINE_CHANCE`."""
    return float((calls_after / (calls_before + calls_after)) ** after)


def operation_shift(timings: OperationTimings, change: float) -> float | None:
    """How far one operation's timings rose after `change`, in robust spreads of its own normal.

    None when there are too few samples on either side to know its normal or its present.
    """
    return _rise(
        [v for t, v in timings.samples if t < change], [v for t, v in timings.samples if t >= change]
    )


def _rise(before: list[float], after: list[float]) -> float | None:
    if len(before) < MIN_TIMED or len(after) < MIN_TIMED:
        return None
    if median(after) <= median(before):
        return 0.0
    return min(SCORE_CAP, robust_shift(before, after, LATENCY_FLOOR_MS, LATENCY_RELATIVE))


@dataclass(frozen=True)
class CallGap:
    """The time between one caller and one callee, over every operation it calls: before and after."""

    caller: str
    callee: str
    before: list[float]
    after: list[float]


def call_gaps(operations: list[OperationTimings], change: float) -> list[CallGap]:
    """Call-gap samples pooled per (caller, callee): a delay slows every call, whatever its operation."""
    pooled: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for timings in operations:
        if timings.kind == "call_gap" and timings.caller is not None:
            before, after = pooled.setdefault((timings.caller, timings.service), ([], []))
            for t, v in timings.samples:
                (before if t < change else after).append(v)
    return [CallGap(c, s, b, a) for (c, s), (b, a) in sorted(pooled.items())]


def gap_scores(gaps: list[CallGap]) -> dict[tuple[str, str], tuple[float, float]]:
    """(score, normal ms) per call: how far its gap rose against its own normal where the traces have
    one, else against its peers — calls between pods of one cluster spend about the same time on the
    network, so a gap many times the typical one stands out in traces that begin at the fault."""
    levels = [median(g.after) for g in gaps if len(g.after) >= MIN_TIMED]
    typical = median(levels) if levels else 0.0
    spread = max(
        1.4826 * median([abs(v - typical) for v in levels]) if levels else 0.0,
        LATENCY_FLOOR_MS,
        LATENCY_RELATIVE * typical,
    )
    scores = {}
    for g in gaps:
        own = _rise(g.before, g.after)
        if own is not None:
            scores[(g.caller, g.callee)] = (own, median(g.before))
        elif len(g.after) >= MIN_TIMED and len(levels) >= MIN_TIMED:
            peer = max(0.0, min(SCORE_CAP, (median(g.after) - typical) / spread))
            scores[(g.caller, g.callee)] = (peer, typical)
    return scores


def delayed_ends(scores: dict[tuple[str, str], tuple[float, float]]) -> dict[str, float]:
    """Per service, how strongly the moved call gaps point at it.

    A delayed callee slows every call into it; a starved caller (throttled CPU) every call it makes.
    A service's claim is the median over its calls in (or out). A moved call is explained by its
    other end when that end's calls in the other direction moved as a whole, and more of them: one
    slow caller is not taken for its several callees, nor one delayed callee for each of its
    callers. A claim whose moved calls are all explained is dropped.
    """
    calls: dict[tuple[str, bool], list[tuple[float, str]]] = defaultdict(list)
    for (caller, callee), (score, _) in scores.items():
        calls[(callee, True)].append((score, caller))
        calls[(caller, False)].append((score, callee))

    claims = {key: median([score for score, _ in edges]) for key, edges in calls.items()}

    def moved(service: str, inward: bool) -> int:
        """How many calls of one end moved, if that end's calls moved as a whole (else none)."""
        if claims.get((service, inward), 0.0) <= MOVED:
            return 0
        return sum(score > MOVED for score, _ in calls[(service, inward)])

    found: dict[str, float] = {}
    for (service, inward), edges in sorted(calls.items()):
        claim, mine = claims[(service, inward)], sum(score > MOVED for score, _ in edges)
        explained = mine > 0 and all(moved(other, not inward) > mine for s, other in edges if s > MOVED)
        if claim > 0 and not explained:
            found[service] = max(found.get(service, 0.0), claim)
    return found


def _operation_findings(
    operations: list[OperationTimings], change: float, found: dict[str, ServiceFindings]
) -> None:
    for timings in operations:
        score = operation_shift(timings, change) if timings.kind == "self_time" else None
        if score is None:
            continue
        previous = found.setdefault(timings.service, ServiceFindings(timings.service)).own.get(SELF_TIME)
        if previous is None or score > previous.score:
            found[timings.service].own[SELF_TIME] = _timing_finding(SELF_TIME, timings, change, score)
    gaps = call_gaps(operations, change)
    scores = gap_scores(gaps)
    for service, score in delayed_ends(scores).items():
        # The evidence line: the most moved call into (or out of) the service.
        worst = max(
            (g for g in gaps if service in (g.caller, g.callee) and (g.caller, g.callee) in scores),
            key=lambda g: (scores[(g.caller, g.callee)][0], g.caller, g.callee),
        )
        found.setdefault(service, ServiceFindings(service)).own[CALL_GAP] = SignalFinding(
            CALL_GAP,
            score,
            scores[(worst.caller, worst.callee)][1],
            median(worst.after),
            f"jaeger: call_gap of {worst.caller} → {worst.callee}",
        )


def _timing_finding(signal: str, timings: OperationTimings, change: float, score: float) -> SignalFinding:
    before = [v for t, v in timings.samples if t < change] or [0.0]
    after = [v for t, v in timings.samples if t >= change] or [0.0]
    where = f"{timings.caller} → " if timings.caller else ""
    return SignalFinding(
        signal,
        score,
        median(before),
        median(after),
        f"jaeger: {signal} of {where}{timings.service} {timings.operation}",
    )


def _trace_findings(bundle: EvidenceBundle, change: float, found: dict[str, ServiceFindings]) -> None:
    for stats in bundle.trace_stats:
        before = [b for b in stats.buckets if b.start < change - bundle.trace_bucket_s]
        after = [b for b in stats.buckets if b.start >= change]
        span_before = max(1, len(before))
        origins_before = sum(b.error_origins for b in before) / span_before
        origins_after = sum(b.error_origins for b in after)
        found[stats.service].origin_excess = max(0.0, origins_after - origins_before * max(1, len(after)))
        per_span_before = [b.self_time_ms / b.spans for b in before if b.spans]
        per_span_after = [b.self_time_ms / b.spans for b in after if b.spans]
        if len(per_span_before) >= 3 and per_span_after:
            score = max(0.0, shift_score(per_span_before, per_span_after, 1.0, q=0.5))
            level = sorted(per_span_after)[len(per_span_after) // 2]
            found[stats.service].own[SELF_TIME] = SignalFinding(
                SELF_TIME,
                score,
                median(per_span_before),
                level,
                f"jaeger: self-time of {stats.service} spans",
            )
    by_service: dict[str, list[TraceOrigin]] = defaultdict(list)
    for origin in bundle.trace_origins:
        if origin.time >= change - bundle.trace_bucket_s:
            by_service[origin.service].append(origin)
    for service, origins in by_service.items():
        found[service].origins = origins
        if service not in {s.service for s in bundle.trace_stats}:
            found[service].origin_excess = float(len(origins))
