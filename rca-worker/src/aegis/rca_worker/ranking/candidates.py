"""`rank_candidates`: from findings to an ordered list of services that may be where the incident starts.

Each service gets an *own* strength (evidence that points at it: saturation, restarts, going silent,
self-time, error origins in traces, its own log bursts, its callers' lines naming it) and a
*symptom* strength (errors, latency, traffic moved). Symptoms are discounted when something the
service calls — directly or not — is itself anomalous, because then the caller most likely suffers
its callee's failure. Everything is a pure function of the bundle: same evidence, same answer.
"""

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aegis.rca_worker.evidence import ERROR_RATIO, EvidenceBundle
from aegis.rca_worker.ranking.features import (
    ABSENT,
    CALL_GAP,
    FLOORS,
    HORIZON_STEPS,
    LATENCY_FLOOR_MS,
    LATENCY_RELATIVE,
    SELF_TIME,
    ServiceFindings,
    SignalFinding,
    collect_findings,
)
from aegis.rca_worker.ranking.onset import OnsetSeries, as_onset_series, onset
from aegis.rca_worker.ranking.stopped_calls import StoppedCall, stopped_calls

CALLS_STOPPED = "calls_stopped"
ERROR_SOURCE = "error_source"
OWN_WEIGHTS = {
    ABSENT: 1.0,
    ERROR_SOURCE: 0.8,
    SELF_TIME: 0.8,
    CALL_GAP: 0.8,
    CALLS_STOPPED: 0.8,
    "restarts": 0.8,
    "cpu": 0.7,
    "memory": 0.7,
}
GENERIC_OWN_WEIGHT = 0.5
TRACE_SIGNALS = (SELF_TIME, CALL_GAP, CALLS_STOPPED)
# What a caller sees of its callee's own evidence: where its traces put the time and the errors.
CALLER_VISIBLE = (ERROR_SOURCE, *TRACE_SIGNALS)
# A robust score above this is a change.
CHANGE_FROM = 3.0
# A stop scores from the change threshold up by this much times the share of the old calls lost.
STOP_SCALE = 12.0
# A callee at least this anomalous explains what its caller did next (a failure, a stop).
EXPLAINS_FROM = 0.2
LOG_WEIGHT = 0.9
ORIGIN_WEIGHT = 1.0
BLAME_WEIGHT = 0.8
BLAME_CORROBORATION = 0.1
EXPLAINED_DISCOUNT = 0.75
# Symptoms travel up the call graph: they count, but less than evidence pointing at the service itself.
SYMPTOM_SCALE = 0.5
# The latency of the calls a service makes says only that something it calls is slow.
CLIENT_LATENCY = "latency_client"
CLIENT_LATENCY_WEIGHT = 0.25
# A log line's share of its operation's calls moving by less than this is noise to the onset.
LINES_PER_CALL_FLOOR = 0.1


@dataclass(frozen=True)
class ScoredService:
    """One service's strengths and final score; `findings` carries the evidence behind them."""

    service: str
    score: float
    own: float
    symptom: float
    explained_by: str | None
    findings: ServiceFindings


@dataclass(frozen=True)
class Ranking:
    """Services from most to least likely root cause, with the change point the ranking used."""

    change: float
    services: list[ScoredService]

    def top(self, k: int) -> list[ScoredService]:
        """The first `k` services with a positive score."""
        return [s for s in self.services if s.score > 0][:k]


def strength(score: float, threshold: float = CHANGE_FROM, scale: float = 6.0) -> float:
    """Map a robust score to [0, 1): nothing below `threshold` spreads, saturating above."""
    return 0.0 if score <= threshold else 1.0 - math.exp(-(score - threshold) / scale)


def _noisy_or(parts: list[float]) -> float:
    remaining = 1.0
    for part in parts:
        remaining *= 1.0 - min(max(part, 0.0), 0.999)
    return 1.0 - remaining


def _shares(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()} if total > 0 else {}


def own_strength(f: ServiceFindings, origin_share: float, blame_share: float) -> float:
    """How strongly the evidence points at the service itself rather than at what it calls.

    Blame from callers' lines counts only once the service shows something of its own."""
    # Signals of one source move together (read and write syscalls, CPU and its rate): within a source
    # the strongest counts; the sources (metrics, trace timings, trace errors, logs) combine.
    by_source: dict[bool, float] = {}
    for sig, x in f.own.items():
        weighted = OWN_WEIGHTS.get(sig, GENERIC_OWN_WEIGHT) * strength(abs(x.score))
        traced = sig in TRACE_SIGNALS
        by_source[traced] = max(by_source.get(traced, 0.0), weighted)
    parts = list(by_source.values())
    parts.append(ORIGIN_WEIGHT * origin_share)
    # A line its still-called operation stopped printing: this service's code took another path.
    parts.append(LOG_WEIGHT * strength(max((x.burst for x in f.own_logs if x.skipped), default=0.0)))
    # A caller's line naming this service is evidence about it only when it shows something itself
    # (its own evidence, or lines of its own that moved): "calling X failed" is also what a caller
    # logs when it is the one that broke the call.
    own_lines = LOG_WEIGHT * strength(max((x.burst for x in f.own_logs), default=0.0))
    if max(_noisy_or(parts), own_lines) >= BLAME_CORROBORATION:
        parts.append(BLAME_WEIGHT * blame_share)
    return _noisy_or(parts)


def symptom_strength(f: ServiceFindings, scale: float = SYMPTOM_SCALE) -> float:
    """How strongly what users and callers see moved: errors, latency, traffic, shifted log templates.

    A service that went silent shows the strongest metric symptom of all. Metric symptoms count at
    `scale` (they travel up the call graph; a callee's anomaly counts them fully). Template shifts
    that name no other service count fully, but here and not as own evidence: a caller's lines
    change when its callee fails too, so the call graph may still explain them away.
    """
    if ABSENT in f.own:
        return scale
    return max(scale * _metric_symptom(f, lambda _: True), _log_symptom(f))


def _metric_symptom(f: ServiceFindings, counted: Callable[[str], bool]) -> float:
    """The strongest of the symptom signals `counted` keeps (the latency of its own calls out weighs less)."""
    return max(
        (
            (CLIENT_LATENCY_WEIGHT if sig.startswith(CLIENT_LATENCY) else 1.0) * strength(abs(x.score))
            for sig, x in f.symptoms.items()
            if counted(sig)
        ),
        default=0.0,
    )


def _log_symptom(f: ServiceFindings) -> float:
    """How far the service's own lines moved (lines its operations stopped printing aside)."""
    return LOG_WEIGHT * strength(max((x.burst for x in f.own_logs if not x.skipped), default=0.0))


def _descendants(edges: list[tuple[str, str]]) -> dict[str, set[str]]:
    callees: dict[str, set[str]] = defaultdict(set)
    for caller, callee in edges:
        if caller != callee:
            callees[caller].add(callee)
    closure: dict[str, set[str]] = {}
    for start in sorted(callees):
        seen: set[str] = set()
        stack = sorted(callees[start])
        while stack:
            node = stack.pop()
            if node not in seen and node != start:
                seen.add(node)
                stack.extend(sorted(callees.get(node, ())))
        closure[start] = seen
    return closure


def _fronted(edges: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Per leaf (a node with no callee of its own), the siblings it may front: the other callees of
    its callers that call something themselves.

    A leaf that shows nothing of its own is seen only from its callers' side of the edge (a load
    balancer, a remote endpoint), so when one of its callers' callees that calls further is anomalous
    too, the leaf's move is most likely the same calls seen through it: a symptom, as a caller's is
    when its callee is anomalous."""
    callees: dict[str, set[str]] = defaultdict(set)
    for caller, callee in edges:
        if caller != callee:
            callees[caller].add(callee)
    fronted: dict[str, set[str]] = defaultdict(set)
    for below in callees.values():
        for leaf in below:
            if leaf not in callees:
                fronted[leaf] |= {s for s in below if s in callees}
    return fronted


def _fronts(service: str, f: ServiceFindings | None, fronted: dict[str, set[str]]) -> set[str]:
    """The siblings whose errors a leaf may be returning, or none when it logs failures of its own
    anew: a load balancer or remote endpoint passes its backend's errors on and is seen only through
    its callers; a process that prints more failure lines of its own, naming no callee, returns its
    own errors."""
    if f is not None and any(not x.skipped and x.failing for x in f.own_logs):
        return set()
    return fronted.get(service, set())


def _change(bundle: EvidenceBundle) -> float:
    """The hinted start (an alert's, a recorded injection's), else the onset the evidence shows, else
    (nothing shifts for good) the middle of the window, which was asked for around the incident."""
    if bundle.change_hint is not None:
        return bundle.change_hint
    found = detect_onset(bundle)
    return (bundle.start + bundle.end) / 2 if found is None else found


def detect_onset(bundle: EvidenceBundle) -> float | None:
    """The onset of the finest-grained evidence that covers the window, whatever the hint; None if no
    series shifts for good.

    Traces (and beside them the log templates) date a change to seconds where the traces were
    sampled without holes but for one after it: when their samples leave gaps longer than two metric
    steps before it or all along the window (a live search samples the window in bursts), or
    show no change of their own (a trace sample that starts after the fault has no normal in it),
    the metrics, which cover the window evenly, are read beside them, every series against the
    `HORIZON_STEPS` metric steps around each candidate, or half the window if that is shorter."""
    fine = [
        as_onset_series(o.samples, LATENCY_FLOOR_MS, LATENCY_RELATIVE)
        for o in bundle.operations
        if o.kind != "calls"
    ]
    metric = [as_onset_series(s.points, FLOORS.get(s.signal, 1e-9), 0.1, thin=False) for s in bundle.metrics]
    traced = [s for s in fine if s is not None]
    coarse = sorted({t for s in bundle.metrics for t, _ in s.points})
    step = statistics.median(b - a for a, b in itertools.pairwise(coarse)) if len(coarse) > 1 else math.inf
    logged = _log_series(bundle)
    if traced:
        found = onset([*traced, *logged], [])
        if found is not None and _covers(traced, step, bundle.start, bundle.end, found):
            return found
    series = [*traced, *logged, *(s for s in metric if s is not None)]
    # A window shorter than two horizons (24 one-minute steps) is split no further
    # than its middle: the side before a candidate is then all the normal there is to judge against.
    return onset(series, coarse, min(HORIZON_STEPS * step, (bundle.end - bundle.start) / 2))


def _log_series(bundle: EvidenceBundle) -> list[OnsetSeries]:
    """Each log template's lines over time: a template that appears or stops dates a code fault that
    changes no timing.

    A template joined to its operation is read as lines per call in each bucket the operation was
    called in (as `features` reads it per call): a code path that changes moves that share at once,
    while the workload's mix of requests, which moves the raw count, does not (a tenth of a line per
    call is noise, so a shift counts from half the calls taking another path). Any other template is
    its lines per bucket, zero where it printed none, over every bucket of the logs (a line a bucket
    is noise)."""
    buckets = sorted({t for tpl in bundle.log_templates for t, _ in tpl.buckets})
    series = []
    for tpl in bundle.log_templates:
        counts = dict(tpl.buckets)
        if tpl.operation and tpl.calls:
            per_call = [(t, counts.get(t, 0) / calls) for t, calls in tpl.calls if calls > 0]
            found = as_onset_series(per_call, LINES_PER_CALL_FLOOR)
        else:
            found = as_onset_series([(t, float(counts.get(t, 0))) for t in buckets], 1.0, 0.25)
        if found is not None:
            series.append(found)
    return series


def _covers(series: Sequence[OnsetSeries], step: float, start: float, end: float, until: float) -> bool:
    """Whether the samples of `series` within [start, end] leave no gap between them longer than two metric
    steps, but for one hole that opens after `until` (the change they date). Traces kept only for
    minutes around an incident (as Nezha keeps them) still date it where they show a change: one
    that begins after the fault shows none, and `detect_onset` then reads the metrics beside them.
    A single hole after the change (the store dropped a stretch of the incident) leaves its date as
    certain, the normal before it and its first samples after it being there; holes all along the
    window (a live search samples it in bursts) leave any change between two bursts undated."""
    times = sorted({t for s in series for t in s.times if start <= t <= end})
    if not times or times[0] > until:
        return False
    holes = [a for a, b in itertools.pairwise(times) if b - a > 2 * step]
    return not holes or (len(holes) == 1 and holes[0] >= until)


def carried_by(service: ScoredService) -> list[str]:
    """Which modalities gave this service its score: metrics, traces, logs."""
    f = service.findings
    signals = [x for x in (*f.own.values(), *f.symptoms.values()) if abs(x.score) > 3]
    used = []
    if any(not x.query.startswith("jaeger:") for x in signals):
        used.append("metrics")
    if f.origins or any(x.query.startswith("jaeger:") for x in signals):
        used.append("traces")
    if f.own_logs or f.blame_logs:
        used.append("logs")
    return used


def answered_worse(f: ServiceFindings, origin_share: float) -> float:
    """How badly a service answered its callers: what they see of it (errors, latency, silence, its
    spans' timings, the errors its traces start, the lines it logs), not its saturation or its
    traffic: a callee that burns more CPU, or is called more, but answers as fast and as well as
    before gives its callers no reason to change their path."""
    if ABSENT in f.own:
        return 1.0
    seen = [OWN_WEIGHTS[sig] * strength(abs(x.score)) for sig, x in f.own.items() if sig in CALLER_VISIBLE]
    answers = _metric_symptom(f, lambda sig: sig == ERROR_RATIO or sig.startswith("latency"))
    return max([answers, _log_symptom(f), ORIGIN_WEIGHT * origin_share, *seen])


def _unexplained_stops(stops: list[StoppedCall], answered: dict[str, float]) -> list[StoppedCall]:
    """Stops no still-called callee explains: a caller that gives up after a callee answered badly is
    its symptom, so a stop counts only when everything its operation still calls answered as before."""
    return [s for s in stops if all(answered.get(c, 0.0) <= EXPLAINS_FROM for c in s.still_called)]


def _strengths(
    findings: dict[str, ServiceFindings], origin_shares: dict[str, float], blame_shares: dict[str, float]
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Per service: its own strength, its symptoms' strength, and how anomalous it looks at all
    (what explains its callers)."""
    own = {
        s: own_strength(f, origin_shares.get(s, 0.0), blame_shares.get(s, 0.0)) for s, f in findings.items()
    }
    symptom = {s: symptom_strength(f) for s, f in findings.items()}
    anomaly = {s: max(own[s], symptom_strength(f, scale=1.0)) for s, f in findings.items()}
    return own, symptom, anomaly


def _add_stops(findings: dict[str, ServiceFindings], stops: list[StoppedCall]) -> None:
    """Each stop as its service's own trace finding (the largest, where it has several), scored from
    the change threshold up by the share of the old calls lost."""
    for stop in stops:
        f = findings.setdefault(stop.service, ServiceFindings(stop.service))
        score = CHANGE_FROM + STOP_SCALE * (1.0 - stop.after / stop.before)
        previous = f.own.get(CALLS_STOPPED)
        if previous is None or score > previous.score:
            f.own[CALLS_STOPPED] = SignalFinding(CALLS_STOPPED, score, stop.before, stop.after, stop.query)


def _error_sources(
    findings: dict[str, ServiceFindings], anomaly: dict[str, float], near: dict[str, set[str]]
) -> dict[str, SignalFinding]:
    """Per service whose error ratio rose while nothing it calls (directly or not) or fronts moved at
    all, that rise as its own finding: errors travel up the call graph, so they start at the lowest
    service returning them whose callees return none and are neither slow nor silent (a caller timing
    out on a slow callee is that callee's symptom). Only services placed in the call graph count: one
    with no known callee may still be fronting one."""
    sources = {}
    for service, f in findings.items():
        rose = f.symptoms.get(ERROR_RATIO)
        below = near.get(service)
        if rose is None or rose.score <= CHANGE_FROM or below is None:
            continue
        if all(anomaly.get(other, 0.0) == 0.0 for other in below):
            sources[service] = SignalFinding(ERROR_SOURCE, rose.score, rose.before, rose.after, rose.query)
    return sources


def rank_candidates(bundle: EvidenceBundle) -> Ranking:
    """Rank every service of the bundle; ties break by name so the order is total and stable."""
    change = _change(bundle)
    findings = collect_findings(bundle, change)
    origin_shares = _shares({s: f.origin_excess for s, f in findings.items() if f.origin_excess > 0})
    blame_shares = _shares(
        {s: sum(x.burst for x in f.blame_logs) for s, f in findings.items() if f.blame_logs}
    )
    own, symptom, anomaly = _strengths(findings, origin_shares, blame_shares)
    closure = _descendants(bundle.edges)
    fronted = _fronted(bundle.edges)
    placed = {s for edge in bundle.edges for s in edge}
    near_all = {s: closure.get(s, set()) | _fronts(s, findings.get(s), fronted) for s in placed}
    answered = {s: answered_worse(f, origin_shares.get(s, 0.0)) for s, f in findings.items()}
    stops = _unexplained_stops(stopped_calls(bundle.operations, change), answered)
    sources = _error_sources(findings, anomaly, near_all)
    if stops or sources:
        _add_stops(findings, stops)
        for service, source in sources.items():
            findings[service].own[ERROR_SOURCE] = source
        own, symptom, anomaly = _strengths(findings, origin_shares, blame_shares)
    scored: list[ScoredService] = []
    for service, f in findings.items():
        # A leaf with evidence of its own (its own spans, saturation) is more than a front.
        near = closure.get(service, set()) | (fronted.get(service, set()) if own[service] == 0 else set())
        below = [(anomaly[d], d) for d in sorted(near) if d in anomaly]
        worst = max(below, default=(0.0, None))
        explained = worst[0] if worst[0] > EXPLAINS_FROM else 0.0
        score = own[service] + symptom[service] * (1.0 - EXPLAINED_DISCOUNT * explained)
        scored.append(
            ScoredService(
                service, round(score, 9), own[service], symptom[service], worst[1] if explained else None, f
            )
        )
    scored.sort(key=lambda s: (-s.score, s.service))
    return Ranking(change, scored)
