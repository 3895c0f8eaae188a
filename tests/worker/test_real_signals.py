"""Signals as real systems produce them: delays only in call gaps, sparse series, template shifts, onset."""

import pytest

from aegis.rca_worker.evidence import EvidenceBundle, LogTemplate, MetricSeries, OperationTimings
from aegis.rca_worker.ranking.candidates import detect_onset, rank_candidates, strength
from aegis.rca_worker.ranking.features import ABSENT, CALL_GAP, collect_findings, template_shift
from aegis.rca_worker.ranking.hypothesis import candidates
from aegis.rca_worker.ranking.onset import as_onset_series, onset

START, CHANGE, END = 1_700_000_000.0, 1_700_000_090.0, 1_700_000_180.0


def _timings(service: str, caller: str | None, normal: float, delayed: float) -> OperationTimings:
    samples = [(START + i, delayed if START + i >= CHANGE else normal + (i % 3) * 0.2) for i in range(180)]
    if caller is None:
        return OperationTimings(service=service, operation="GET /x", kind="self_time", samples=samples)
    return OperationTimings(
        service=service, operation="GET /x", kind="call_gap", caller=caller, samples=samples
    )


def _delay_bundle() -> EvidenceBundle:
    """frontend → cart and frontend → catalog; cart is delayed by a second on every call into it."""
    return EvidenceBundle(
        start=START,
        end=END,
        services=["cart", "catalog", "frontend"],
        edges=[("frontend", "cart"), ("frontend", "catalog")],
        operations=[
            _timings("cart", "frontend", 2.0, 1000.0),
            _timings("catalog", "frontend", 2.0, 2.0),
            _timings("frontend", None, 5.0, 5.0),
            _timings("cart", None, 3.0, 3.0),
        ],
    )


def test_a_delay_seen_only_between_caller_and_callee_blames_the_callee() -> None:
    """No span of cart got slower; every call into it did: cart ranks first, its caller does not."""
    ranking = rank_candidates(_delay_bundle())
    assert ranking.services[0].service == "cart"
    assert CALL_GAP in ranking.services[0].findings.own
    frontend = next(s for s in ranking.services if s.service == "frontend")
    assert frontend.score < ranking.services[0].score
    top = candidates(ranking, "en", 1)[0]
    assert "time between its callers and it in traces 2ms→1000ms" in top.hypothesis


def _gaps_bundle(
    calls: list[tuple[str, str]], moved: tuple[str, str], first: float = START
) -> EvidenceBundle:
    """`calls` each timed about 5 ms apart, except the calls into (or out of) `moved[1]`: 250 ms from
    the change on; `moved[0]` says which end, "callee" or "caller". Samples begin at `first`."""
    end, service = moved

    def gap(caller: str, callee: str) -> OperationTimings:
        slow = (callee if end == "callee" else caller) == service
        samples = [
            (float(t), (250.0 if slow and t >= CHANGE else 5.0) + (t % 3) * 0.2)
            for t in range(int(first), int(END))
        ]
        return OperationTimings(
            service=callee, operation="GET /x", kind="call_gap", caller=caller, samples=samples
        )

    return EvidenceBundle(
        start=START,
        end=END,
        services=sorted({s for edge in calls for s in edge}),
        edges=calls,
        operations=[gap(caller, callee) for caller, callee in calls],
    )


def _moved_gaps(bundle: EvidenceBundle) -> list[str]:
    found = collect_findings(bundle, CHANGE)
    return [s for s, f in sorted(found.items()) if CALL_GAP in f.own and f.own[CALL_GAP].score > 3]


def test_a_delay_in_traces_that_begin_at_the_fault_is_told_by_its_peers() -> None:
    """With no span before the change, the one callee whose calls wait 250 ms where every other call
    waits about 5 ms ranks first, on its call gap; no other service has one."""
    calls = [("checkout", "cart"), ("frontend", "cart"), ("frontend", "catalog"), ("frontend", "currency")]
    calls += [("checkout", "currency"), ("checkout", "payment"), ("checkout", "email")]
    bundle = _gaps_bundle(calls, ("callee", "cart"), first=CHANGE)
    ranking = rank_candidates(bundle)
    assert ranking.services[0].service == "cart"
    assert ranking.services[0].findings.own[CALL_GAP].after > 200
    assert _moved_gaps(bundle) == ["cart"]


def test_a_starved_caller_is_not_taken_for_its_callees() -> None:
    """Every call a throttled service makes waits longer (it reads the answers late) while its
    callees' other callers see no change: the caller carries the call-gap finding, not its callees."""
    calls = [("basic", "train"), ("basic", "station"), ("basic", "price"), ("basic", "route")]
    calls += [("travel", "basic"), ("travel", "route"), ("gateway", "travel")]
    assert _moved_gaps(_gaps_bundle(calls, ("caller", "basic"))) == ["basic"]


def test_onset_from_traces_is_dated_to_seconds() -> None:
    """The change point of the trace timings falls within five seconds of the real step."""
    series = [as_onset_series(o.samples, 1.0, 0.25) for o in _delay_bundle().operations]
    found = onset([s for s in series if s is not None], [])
    assert found is not None
    assert abs(found - CHANGE) <= 5


def _series(service: str, times: list[float]) -> MetricSeries:
    points = [(t, 5.0) for t in times]
    return MetricSeries(service=service, signal="request_rate", query=service, points=points)


def test_a_sparse_series_that_stops_is_not_an_outage_but_a_dense_one_is() -> None:
    """Points every minute then nothing: absent; a point every ten minutes then nothing: no finding."""
    dense = [START - 3600 + 60 * i for i in range(61)]
    sparse = [START - 3600 + 600 * i for i in range(7)]
    bundle = EvidenceBundle(
        start=START - 3600,
        end=END + 1200,
        services=["dense", "sparse"],
        metrics=[_series("dense", dense), _series("sparse", sparse), _series("clock", [*dense, END + 1200])],
    )
    found = collect_findings(bundle, CHANGE)
    assert ABSENT in found["dense"].own
    assert ABSENT not in found["sparse"].own


def _scraped(service: str, until: float) -> MetricSeries:
    """A request rate scraped every 15 s from an hour before the change until `until`."""
    return _series(service, [CHANGE - 3600 + 15 * i for i in range(int((until - CHANGE + 3600) // 15) + 1)])


def test_metrics_that_all_lag_the_window_end_are_not_an_outage_but_one_that_stops_is() -> None:
    """Every series ending minutes before "now" is a lagging backend; one stopping alone went silent."""
    lag = END + 600  # the question's "now": every series ends ten minutes (40 scrapes) earlier
    lagging = EvidenceBundle(
        start=CHANGE - 3600,
        end=lag,
        services=["cart", "catalog", "payment"],
        metrics=[_scraped(name, END) for name in ("cart", "catalog", "payment")],
    )
    found = collect_findings(lagging, CHANGE)
    assert not [name for name, f in found.items() if ABSENT in f.own]
    stopped = lagging.model_copy(
        update={"metrics": [_scraped("cart", END), _scraped("catalog", END), _scraped("payment", CHANGE)]}
    )
    found = collect_findings(stopped, CHANGE)
    assert [name for name, f in found.items() if ABSENT in f.own] == ["payment"]


def test_a_series_one_or_two_scrapes_behind_the_window_end_is_not_an_outage() -> None:
    """Prometheus answers a scrape or two behind "now": a lone series ending 30 s early is present."""
    bundle = EvidenceBundle(
        start=CHANGE - 3600, end=END + 30, services=["cart"], metrics=[_scraped("cart", END)]
    )
    assert ABSENT not in collect_findings(bundle, CHANGE)["cart"].own


def test_template_shifts_count_new_vanished_and_moved_lines_whatever_their_level() -> None:
    """A new template scores high, a vanished one low, an unchanged share about zero."""
    assert template_shift(0, 19, 100, 100) > 10
    assert template_shift(25, 0, 100, 100) < -2
    assert abs(template_shift(20, 21, 100, 100)) < 1


def _intermittent(service: str, signal: str, odd: float, after: list[float]) -> MetricSeries:
    """Five-minute points for two days, zero but for an odd value every ~50th bucket, then `after`."""
    before = [(CHANGE - 300 * (576 - i), odd if i % 50 == 7 else 0.0) for i in range(576)]
    return MetricSeries(
        service=service,
        signal=signal,
        query=service,
        points=[*before, *((CHANGE + 300 * i, v) for i, v in enumerate(after))],
    )


def test_an_intermittent_series_scores_nothing_for_what_its_normal_already_showed() -> None:
    """An odd error or request like those of its quiet normal is no finding; errors beyond it are."""
    bundle = EvidenceBundle(
        start=CHANGE - 300 * 576,
        end=CHANGE + 900,
        services=["quiet", "caller", "failing"],
        metrics=[
            _intermittent("quiet", "error_ratio", 0.05, [0.0, 0.05, 0.05]),
            _intermittent("caller", "request_rate", 2.0, [0.0, 2.0, 4.0]),
            _intermittent("failing", "error_ratio", 0.05, [0.3, 0.3, 0.3]),
        ],
    )
    found = collect_findings(bundle, CHANGE)
    assert strength(found["quiet"].symptoms["error_ratio"].score) == 0.0
    assert strength(found["caller"].symptoms["request_rate"].score) == 0.0
    assert found["failing"].symptoms["error_ratio"].score > 10
    assert rank_candidates(bundle).services[0].service == "failing"


def test_a_long_series_is_thinned_with_its_first_and_newest_points_kept() -> None:
    """Thinning a series above the onset's point budget keeps both ends, so the newest step is seen."""
    points = [(START + i, 1.0 if i < 990 else 9.0) for i in range(1000)]
    thinned = as_onset_series(points, 0.1)
    assert thinned is not None
    assert (thinned.times[0], thinned.times[-1]) == (START, START + 999)
    assert thinned.values[-1] == 9.0


def _stepped(service: str, signal: str, values: list[float], first: float, step: float) -> MetricSeries:
    """`values` every `step` seconds from `first`."""
    points = [(first + step * i, v) for i, v in enumerate(values)]
    return MetricSeries(service=service, signal=signal, query=service, points=points)


def _five_minute(service: str, signal: str, normal: list[float], after: list[float]) -> MetricSeries:
    """`normal` then `after` at five-minute steps, the first point of `after` at CHANGE."""
    return _stepped(service, signal, [*normal, *after], CHANGE - 300 * len(normal), 300)


def test_onset_on_five_minute_metrics_is_the_first_changed_point_after_two_days_of_normal() -> None:
    """A warm-up at the window's start and a daily swing are no onset; three changed points at the end are."""
    days = 576
    swing = [100.0 + 20.0 * (i // 144 % 2) + (i % 5) for i in range(days)]
    warm_up = [40.0 if i < 8 else 100.0 + (i % 3) for i in range(days)]
    bundle = EvidenceBundle(
        start=CHANGE - 300 * days,
        end=CHANGE + 600,
        services=["api", "db"],
        metrics=[
            _five_minute("api", "latency_p95", [0.2 + 0.01 * (i % 4) for i in range(days)], [1.2, 1.3, 1.1]),
            _five_minute("db", "error_ratio", [0.0] * days, [0.2, 0.25, 0.2]),
            _five_minute("api", "request_rate", swing, [110.0, 111.0, 112.0]),
            _five_minute("db", "request_rate", warm_up, [101.0, 100.0, 102.0]),
        ],
    )
    assert detect_onset(bundle) == CHANGE


def test_a_gap_in_a_sparse_series_is_no_onset() -> None:
    """A node that emits only when it serves leaves holes; the step in the dense series dates the onset."""
    days = 288
    sparse = [
        (CHANGE - 300 * (days - i), 3.0)
        for i in range(days)
        if not (days // 3 <= i < days // 2) and i % 7 != 3
    ]
    bundle = EvidenceBundle(
        start=CHANGE - 300 * days,
        end=CHANGE + 600,
        services=["api", "quiet"],
        metrics=[
            MetricSeries(service="quiet", signal="request_rate", query="quiet", points=sparse),
            _five_minute("api", "error_ratio", [0.01 * (i % 2) for i in range(days)], [0.3, 0.3, 0.3]),
        ],
    )
    assert detect_onset(bundle) == CHANGE


BUCKETS = [START + 10 * i for i in range(18)]


def _template(
    service: str, text: str, lines: list[int], calls: tuple[str, list[int]] | None = None
) -> LogTemplate:
    """A template's lines per ten-second bucket of the window; with `calls`, joined to that operation
    and its calls per bucket."""
    seen = [(t, c) for t, c in zip(BUCKETS, lines, strict=True) if c]
    return LogTemplate(
        service=service,
        template=text,
        count=sum(lines),
        first_seen=seen[0][0],
        last_seen=seen[-1][0],
        sample=text,
        query=service,
        buckets=seen,
        operation=None if calls is None else calls[0],
        calls=[] if calls is None else list(zip(BUCKETS, calls[1], strict=True)),
    )


def test_a_code_fault_that_changes_no_timing_is_dated_by_its_log_templates() -> None:
    """Steady traces and a template that starts printing at the fault: the onset is at its first bucket."""
    steady = [_timings("cart", None, 3.0, 3.0), _timings("cart", "frontend", 2.0, 2.0)]
    buckets = BUCKETS

    def template(text: str, counts: list[int]) -> LogTemplate:
        return _template("cart", text, counts)

    bundle = EvidenceBundle(
        start=START,
        end=END,
        services=["cart", "frontend"],
        operations=steady,
        log_templates=[
            template("GET /cart ok", [20 + i % 3 for i in range(18)]),
            template("NullPointerException in checkout", [0] * 6 + [12, 14, 13, 12, 15, 13] * 2),
        ],
    )
    found = detect_onset(bundle)
    assert found is not None
    assert abs(found - buckets[6]) < 10  # within the bucket it first printed in


def test_a_code_path_that_changes_is_dated_per_call_not_by_the_workload_that_moves_its_lines() -> None:
    """The operation is called 20 times a bucket, then 3 or 4 (the load generator moves on), and at the
    fault its calls stop printing "found" and print "not found" instead: read per call of the
    operation, the lines date the fault, not the earlier drop of the workload that moved their counts."""
    calls = [20, 21, 20, 19] + [3 + i % 2 for i in range(14)]
    fault = BUCKETS.index(CHANGE)

    def template(text: str, lines: list[int]) -> LogTemplate:
        return _template("contacts", text, lines, ("GET /contacts/{id}", calls))

    bundle = EvidenceBundle(
        start=START,
        end=END,
        services=["contacts"],
        operations=[_timings("contacts", None, 3.0, 3.0)],
        log_templates=[
            template("contacts found", [c if i < fault else 0 for i, c in enumerate(calls)]),
            template("no contacts for id", [0 if i < fault else c for i, c in enumerate(calls)]),
        ],
    )
    found = detect_onset(bundle)
    assert found is not None
    assert abs(found - CHANGE) < 10  # within the bucket the calls took the other path


def test_a_short_window_of_one_minute_metrics_is_dated_without_a_full_horizon_before() -> None:
    """Nine minutes of one-minute metrics, the step at the sixth (not the window's middle): shorter than
    the twelve-step horizon, yet the change is found where it is, judged against the minutes before."""
    first = CHANGE - 300
    errors = [0.01 * (i % 2) for i in range(5)] + [0.4, 0.42, 0.41, 0.43]
    latency = [20.0 + (i % 3) for i in range(5)] + [300.0, 310.0, 305.0, 298.0]
    bundle = EvidenceBundle(
        start=first,
        end=first + 480,
        services=["api"],
        metrics=[
            _stepped("api", "error_ratio", errors, first, 60),
            _stepped("api", "latency_p95", latency, first, 60),
        ],
    )
    assert detect_onset(bundle) == CHANGE


def test_traces_sampled_only_after_the_fault_leave_the_onset_to_the_metrics() -> None:
    """The trace sample starts after the step, so it holds no normal and shows no change; the metrics,
    which cover the window, date the onset instead of the window's middle."""
    first = CHANGE - 300
    latency = [20.0 + (i % 3) for i in range(5)] + [300.0, 310.0, 305.0, 298.0]
    late = [(CHANGE + 30 + i, 300.0 + (i % 4)) for i in range(60)]
    bundle = EvidenceBundle(
        start=first,
        end=first + 480,
        services=["api"],
        metrics=[_stepped("api", "latency_p95", latency, first, 60)],
        operations=[OperationTimings(service="api", operation="GET /x", kind="self_time", samples=late)],
    )
    assert detect_onset(bundle) == CHANGE


@pytest.mark.parametrize(
    ("holes", "dated_by_traces"),
    [
        ([(CHANGE + 30, CHANGE + 210)], True),
        ([(CHANGE - 200, CHANGE - 60), (CHANGE + 30, CHANGE + 210)], False),
    ],
)
def test_a_hole_in_the_traces_after_the_change_leaves_them_to_date_it(
    holes: list[tuple[float, float]], dated_by_traces: bool
) -> None:
    """Traces every second up to half a minute after the step, then a three-minute hole (the store
    dropped them), then again: the change is dated where the traces show it, not by the one-minute
    metrics, whose callers' latency moves a few minutes later. Holes before it too (a search that
    samples the window in bursts) leave the date to the metrics."""
    first = CHANGE - 240
    samples = [
        (t, 300.0 if t >= CHANGE else 20.0 + (t % 3))
        for t in [first + i for i in range(540)]
        if not any(a < t < b for a, b in holes)
    ]
    late = [20.0 + (i % 3) for i in range(7)] + [300.0, 310.0, 305.0]
    bundle = EvidenceBundle(
        start=first,
        end=first + 540,
        services=["api", "web"],
        metrics=[_stepped(f"web{i}", "latency_p95", late, first, 60) for i in range(3)],
        operations=[OperationTimings(service="api", operation="GET /x", kind="self_time", samples=samples)],
    )
    found = detect_onset(bundle)
    assert found is not None
    assert (abs(found - CHANGE) < 5) is dated_by_traces


def test_evidence_that_never_shifts_has_no_onset() -> None:
    """Steady metrics and traces: no onset is made up (the eval counts the case as not dated)."""
    first = CHANGE - 240
    bundle = EvidenceBundle(
        start=first,
        end=first + 480,
        services=["api"],
        metrics=[_stepped("api", "latency_p95", [20.0 + (i % 3) for i in range(9)], first, 60)],
        operations=[_timings("api", None, 3.0, 3.0)],
    )
    assert detect_onset(bundle) is None
