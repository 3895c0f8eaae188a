"""The ranking: deterministic, dependency-aware, and explained in words with evidence references."""

import random

from aegis.rca_worker.evidence import (
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    REQUEST_RATE,
    EvidenceBundle,
    LogTemplate,
    MetricSeries,
    ServiceTraceStats,
    TraceBucket,
)
from aegis.rca_worker.log_templates import template_of
from aegis.rca_worker.ranking.candidates import ERROR_SOURCE, rank_candidates
from aegis.rca_worker.ranking.features import error_count_shift
from aegis.rca_worker.ranking.hypothesis import candidates
from aegis.simulator.offline import analyse_offline
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry

START, CHANGE, END = 1_000_000.0, 1_001_800.0, 1_002_400.0


def _series(service: str, signal: str, before: float, after: float, seed: int) -> MetricSeries:
    rng = random.Random(seed)
    points = [
        (START + 15 * i, (before if START + 15 * i < CHANGE else after) * rng.uniform(0.95, 1.05))
        for i in range(int((END - START) / 15))
    ]
    return MetricSeries(
        service=service, signal=signal, query=f'{signal}{{service="{service}"}}', points=points
    )


def _new_lines(service: str, template: str, sample: str) -> LogTemplate:
    """Eighty lines of one template, all printed after the change."""
    return LogTemplate(
        service=service,
        template=template,
        count=80,
        first_seen=CHANGE,
        last_seen=END,
        sample=sample,
        query=f'{{app="{service}"}}',
        buckets=[(CHANGE + 60 * i, 8) for i in range(10)],
    )


def _propagating_bundle() -> EvidenceBundle:
    """checkout → payment: payment fails, checkout (which calls it twice) shows the louder error ratio."""
    metrics = [
        _series("payment", ERROR_RATIO, 0.002, 0.10, 1),
        _series("checkout", ERROR_RATIO, 0.002, 0.19, 2),
        _series("payment", LATENCY_P95, 0.05, 0.05, 3),
        _series("checkout", LATENCY_P95, 0.09, 0.09, 4),
        _series("email", LATENCY_P95, 0.02, 0.02, 5),
    ]
    origins = [
        TraceBucket(start=START + 60 * i, spans=10, error_origins=3 if START + 60 * i >= CHANGE else 0)
        for i in range(40)
    ]
    calm = [TraceBucket(start=START + 60 * i, spans=10) for i in range(40)]
    log = _new_lines(
        "checkout", "ERROR call to payment failed: status <num>", "ERROR call to payment failed: status 503"
    )
    return EvidenceBundle(
        start=START,
        end=END,
        services=["checkout", "email", "payment"],
        edges=[("checkout", "payment"), ("checkout", "email")],
        metrics=metrics,
        log_templates=[log],
        trace_stats=[
            ServiceTraceStats(service="payment", buckets=origins),
            ServiceTraceStats(service="checkout", buckets=calm),
        ],
    )


def test_a_caller_that_only_suffers_its_callee_ranks_below_it() -> None:
    """Checkout's louder error ratio is explained by payment, which the traces and logs blame."""
    ranking = rank_candidates(_propagating_bundle())
    order = [s.service for s in ranking.top(3)]
    assert order[:2] == ["payment", "checkout"]
    assert ranking.services[1].explained_by == "payment"


def _fronted_bundle(leaf_after: float) -> EvidenceBundle:
    """web → lb (a leaf: seen only from web's side) and web → search → store: search is slow, and so
    is lb, which fronts it, by `leaf_after` seconds."""
    return EvidenceBundle(
        start=START,
        end=END,
        services=["lb", "search", "store", "web"],
        edges=[("web", "lb"), ("web", "search"), ("search", "store")],
        metrics=[
            _series("lb", LATENCY_P95, 0.02, leaf_after, 1),
            _series("search", LATENCY_P95, 0.02, 0.8, 2),
            _series("store", LATENCY_P95, 0.01, 0.01, 3),
            _series("web", LATENCY_P95, 0.3, 0.32, 4),
        ],
    )


def test_a_leaf_that_fronts_an_anomalous_sibling_ranks_below_it() -> None:
    """A callee with no callee of its own, as slow as its caller's other slow callee, is its symptom."""
    ranking = rank_candidates(_fronted_bundle(leaf_after=1.0))
    assert [s.service for s in ranking.top(2)] == ["search", "lb"]
    assert ranking.services[1].explained_by == "search"
    assert ranking.services[1].symptom >= ranking.services[0].symptom


def test_a_leaf_beside_calm_siblings_keeps_its_score() -> None:
    """A slow leaf whose caller's other callees are calm is not explained away: it leads."""
    bundle = _fronted_bundle(leaf_after=1.0)
    calm = [m for m in bundle.metrics if m.service != "search"] + [
        _series("search", LATENCY_P95, 0.02, 0.02, 2)
    ]
    ranking = rank_candidates(bundle.model_copy(update={"metrics": calm}))
    assert ranking.services[0].service == "lb"
    assert ranking.services[0].explained_by is None


def _failing_leaf_bundle(leaf_logs: bool) -> EvidenceBundle:
    """web → shipping (a leaf) and web → checkout → shipping: shipping returns errors, and so does
    checkout, which calls it; with `leaf_logs` shipping prints an exception line of its own anew."""
    line = "ERROR unhandled exception in shipping.Handler.process: NullPointerException"
    thrown = _new_lines("shipping", line, line)
    return EvidenceBundle(
        start=START,
        end=END,
        services=["checkout", "shipping", "web"],
        edges=[("web", "shipping"), ("web", "checkout"), ("checkout", "shipping")],
        metrics=[
            _series("shipping", ERROR_RATIO, 0.002, 0.10, 1),
            _series("checkout", ERROR_RATIO, 0.002, 0.10, 2),
            _series("web", ERROR_RATIO, 0.002, 0.05, 3),
        ],
        log_templates=[thrown] if leaf_logs else [],
    )


def test_a_leaf_that_logs_its_own_failures_returns_its_own_errors() -> None:
    """A leaf may front its caller's other callee (a load balancer passes errors on), but one that
    prints exceptions of its own anew is where the errors start: it is their source and leads."""
    ranking = rank_candidates(_failing_leaf_bundle(leaf_logs=True))
    top = ranking.services[0]
    assert top.service == "shipping"
    assert ERROR_SOURCE in top.findings.own
    assert top.explained_by is None


def test_a_silent_leaf_beside_a_failing_sibling_is_no_error_source() -> None:
    """The same errors without a line of its own: the leaf may be passing checkout's errors on."""
    ranking = rank_candidates(_failing_leaf_bundle(leaf_logs=False))
    leaf = next(s for s in ranking.services if s.service == "shipping")
    assert ERROR_SOURCE not in leaf.findings.own
    assert leaf.explained_by == "checkout"


def _error_path_bundle(store_timed_lately: bool) -> EvidenceBundle:
    """web → search → store: search starts failing and, on its error path, calls store, which it had
    last called long before (or, with `store_timed_lately`, all along); store itself returns no errors."""
    early = START + 15 * 10  # store's calls ended here, long before the change
    store_latency = [
        (t, v * (8.0 if t >= CHANGE else 1.0))
        for t, v in _series("store", LATENCY_P95, 0.1, 0.1, 3).points
        if store_timed_lately or t < early or t >= CHANGE
    ]
    return EvidenceBundle(
        start=START,
        end=END,
        services=["search", "store", "web"],
        edges=[("web", "search"), ("search", "store")],
        metrics=[
            _series("web", ERROR_RATIO, 0.0, 0.12, 1),
            _series("search", ERROR_RATIO, 0.0, 0.08, 2),
            MetricSeries(service="store", signal=LATENCY_P95, query="store_latency", points=store_latency),
            _series("store", ERROR_RATIO, 0.0, 0.0, 4),
        ],
    )


def test_a_callee_first_called_at_the_change_is_not_slow_and_its_caller_makes_the_errors() -> None:
    """Store has no recent normal to be slow against, so nothing search calls moved: search's errors
    are its own (an error source), and web's louder ones, through search, are its symptom."""
    ranking = rank_candidates(_error_path_bundle(store_timed_lately=False))
    by_name = {s.service: s for s in ranking.services}
    assert LATENCY_P95 not in by_name["store"].findings.symptoms
    assert ranking.services[0].service == "search"
    assert ERROR_SOURCE in by_name["search"].findings.own
    assert ERROR_SOURCE not in by_name["web"].findings.own
    assert by_name["web"].explained_by == "search"


def test_errors_above_a_slow_callee_are_not_their_own() -> None:
    """A callee timed all along that turns slow explains its caller's errors (a timeout, say): no
    error source is named above it."""
    ranking = rank_candidates(_error_path_bundle(store_timed_lately=True))
    by_name = {s.service: s for s in ranking.services}
    assert by_name["store"].findings.symptoms[LATENCY_P95].score > 3
    assert all(ERROR_SOURCE not in s.findings.own for s in ranking.services)
    assert by_name["search"].explained_by == "store"


def _counted_errors_bundle(errors_after: int) -> EvidenceBundle:
    """web → search → store, every series one point per 5 minutes with a request count per point (a
    workload column): search serves 130 requests a point and had no error in 48 hours; from the change
    on it fails `errors_after` of each point's requests (under 2.5 % for 3), web passes them on."""
    step, start = 300.0, CHANGE - 48 * 3600.0
    times = [start + step * i for i in range(int((END - start) / step))]

    def ratio(errors: int) -> list[tuple[float, float]]:
        return [(t, errors / 130 if t >= CHANGE else 0.0) for t in times]

    def series(service: str, signal: str, points: list[tuple[float, float]]) -> MetricSeries:
        return MetricSeries(
            service=service, signal=signal, query=f"{service}_{signal}", points=points, counts=True
        )

    return EvidenceBundle(
        start=start,
        end=END,
        services=["search", "store", "web"],
        edges=[("web", "search"), ("search", "store")],
        metrics=[
            *(series(s, REQUEST_RATE, [(t, 130.0) for t in times]) for s in ("search", "store", "web")),
            series("search", ERROR_RATIO, ratio(errors_after)),
            series("web", ERROR_RATIO, ratio(errors_after)),
            series("store", ERROR_RATIO, ratio(0)),
        ],
        change_hint=CHANGE,
    )


def test_an_error_ratio_is_read_as_the_errors_it_counts() -> None:
    """3 errors in 130 requests a point, after none in 48 hours of them, are no noise though the ratio
    stays under 2.5 %: search, whose callee returns none, is the errors' source. A ratio read as a
    level would not see it (its floor is a 1 % error ratio); one error in two requests could be chance."""
    ranking = rank_candidates(_counted_errors_bundle(errors_after=3))
    by_name = {s.service: s for s in ranking.services}
    assert ranking.services[0].service == "search"
    assert ERROR_SOURCE in by_name["search"].findings.own
    assert by_name["web"].explained_by == "search"
    chance = error_count_shift([(0.0, 0.0), (1.0, 0.5)], {0.0: 1000.0, 1.0: 2.0}, 1.0)
    assert chance is not None
    assert 0 < chance < 3


def test_a_latency_slow_already_in_its_recent_normal_did_not_slow_with_the_change() -> None:
    """Store's p99 was 10 ms for 48 hours and 40 ms from 10 minutes before the change on (a database
    slow since before the incident): it did not slow with the change, and search's errors are their
    own. The same rise from the change on explains them (a timeout, say)."""
    bundle = _counted_errors_bundle(errors_after=3)
    times = [t for t, _ in bundle.metrics[0].points]

    def with_store_slow_from(slow_from: float) -> EvidenceBundle:
        p99 = [(t, 0.04 if t >= slow_from else 0.01) for t in times]
        store = MetricSeries(service="store", signal=LATENCY_P99, query="store_p99", points=p99)
        return bundle.model_copy(update={"metrics": [*bundle.metrics, store]})

    early = {s.service: s for s in rank_candidates(with_store_slow_from(CHANGE - 600.0)).services}
    assert early["store"].findings.symptoms[LATENCY_P99].score <= 3
    assert early["store"].score == 0
    assert ERROR_SOURCE in early["search"].findings.own
    assert early["search"].explained_by is None
    at_change = {s.service: s for s in rank_candidates(with_store_slow_from(CHANGE)).services}
    assert at_change["store"].findings.symptoms[LATENCY_P99].score > 3
    assert at_change["search"].explained_by == "store"


def test_a_ratio_without_its_requests_is_read_as_a_level() -> None:
    """Without a request count per point the same 3-in-130 ratio is within the error ratio's floor."""
    bundle = _counted_errors_bundle(errors_after=3)
    ratios = [m for m in bundle.metrics if m.signal != REQUEST_RATE]
    ranking = rank_candidates(bundle.model_copy(update={"metrics": ratios}))
    assert all(s.score == 0 for s in ranking.services)
    assert error_count_shift(ratios[0].points, None, CHANGE) is None


def test_same_evidence_same_answer_whatever_the_input_order() -> None:
    """Ranking twice, or with every list shuffled, gives the identical ranking and scores."""
    bundle = _propagating_bundle()
    shuffled = bundle.model_copy(
        update={
            "metrics": list(reversed(bundle.metrics)),
            "edges": list(reversed(bundle.edges)),
            "services": list(reversed(bundle.services)),
            "trace_stats": list(reversed(bundle.trace_stats)),
        }
    )
    first, again, other = rank_candidates(bundle), rank_candidates(bundle), rank_candidates(shuffled)
    summary = [(s.service, s.score) for s in first.services]
    assert summary == [(s.service, s.score) for s in again.services]
    assert summary == [(s.service, s.score) for s in other.services]


async def test_a_simulated_incident_ranks_identically_on_every_run() -> None:
    """The full path over a simulated incident twice: identical candidates, hypotheses and confidences."""
    results = []
    for _ in range(2):
        analysis = await analyse_offline(ScenarioTelemetry(make_scenario("delay", "currency", 3)))
        results.append([c.model_dump() for c in analysis.candidates("en")])
    assert results[0] == results[1]
    assert results[0][0]["service"] == "currency"


def test_hypotheses_in_both_languages_cite_queries() -> None:
    """Top candidate: zh and en hypotheses name it, and evidence carries the PromQL and the LogQL."""
    ranking = rank_candidates(_propagating_bundle())
    zh, en = candidates(ranking, "zh")[0], candidates(ranking, "en")[0]
    assert zh.service == en.service == "payment"
    assert "payment" in zh.hypothesis
    assert "异常" in zh.hypothesis
    assert "payment" in en.hypothesis
    assert "anomalous" in en.hypothesis
    assert 0 < en.confidence <= 1
    queries = {e.kind: e.query for e in en.evidence}
    assert queries["metric"] == 'error_ratio{service="payment"}'
    assert queries["log"] == '{app="checkout"}'
    assert not any(word in en.hypothesis.lower() for word in ("restarted", "scaled", "rolled back"))


def test_log_lines_with_different_ids_share_a_template() -> None:
    """Ids, numbers, addresses and quoted values are masked, so such lines cluster together."""
    a = template_of('ERROR timeout after 1003ms calling 10.0.3.7:8080 id=9f86d081884c7d65 user="bob"')
    b = template_of('ERROR timeout after 998ms calling 10.0.9.12:8080 id=1b4f0e9851971998 user="alice"')
    assert a == b == "ERROR timeout after <num> calling <ip> id=<hex> user=<str>"
