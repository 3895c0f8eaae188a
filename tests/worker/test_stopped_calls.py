"""Calls that stop: code that returns early stops calling what it always called; a caller that
gives up after a failing callee only shows its callee's failure."""

from aegis.rca_worker.backends.jaeger import Span, Trace
from aegis.rca_worker.evidence import CPU, EvidenceBundle, MetricSeries
from aegis.rca_worker.ranking.candidates import CALLS_STOPPED, rank_candidates
from aegis.rca_worker.trace_analysis import TraceDigest

START, CHANGE, END = 1_700_000_000.0, 1_700_000_090.0, 1_700_000_180.0


def _trace(i: int, at: float, callees: list[str], failing: str | None) -> Trace:
    us = int(at * 1e6)
    spans = [Span(f"t{i}", f"t{i}-f", None, "frontend", "POST /cart/checkout", us, 50_000, False)]
    spans.append(Span(f"t{i}", f"t{i}-c", f"t{i}-f", "checkout", "PlaceOrder", us + 100, 40_000, False))
    for n, callee in enumerate(callees):
        error = callee == failing
        spans.append(Span(f"t{i}", f"t{i}-{n}", f"t{i}-c", callee, "Call", us + 200 + n, 5_000, error))
    return Trace(f"t{i}", spans)


def _bundle(after: list[str], failing: str | None = None) -> EvidenceBundle:
    """checkout's PlaceOrder calls cart, shipping and email on every call before the change, and
    only `after` from it on (`failing` erroring on every call)."""
    digest = TraceDigest(bucket_s=10.0)
    for i in range(180):
        at = START + i
        if at < CHANGE:
            digest.add(_trace(i, at, ["cart", "shipping", "email"], None))
        else:
            digest.add(_trace(i, at, after, failing))
    return EvidenceBundle(
        start=START,
        end=END,
        change_hint=CHANGE,
        services=["cart", "checkout", "email", "frontend", "shipping"],
        edges=sorted(digest.edges),
        trace_stats=digest.stats(),
        trace_origins=digest.origins,
        operations=digest.operations(),
    )


def test_an_operation_that_stops_calling_what_it_always_called_is_blamed() -> None:
    """checkout returns early: it still calls cart (healthy) but no longer shipping or email, and
    ranks first on that stop, with the operation and the lost callee named in its evidence."""
    ranking = rank_candidates(_bundle(["cart"]))
    top = ranking.services[0]
    assert top.service == "checkout"
    stop = top.findings.own[CALLS_STOPPED]
    assert (stop.before, stop.after) == (1.0, 0.0)
    assert "checkout PlaceOrder calls" in stop.query


def test_a_caller_that_gives_up_after_a_failing_callee_is_its_symptom() -> None:
    """cart fails on every call and checkout stops calling shipping and email after it: cart ranks
    first, and checkout's stop is not counted as its own evidence."""
    ranking = rank_candidates(_bundle(["cart"], failing="cart"))
    assert ranking.services[0].service == "cart"
    checkout = next(s for s in ranking.services if s.service == "checkout")
    assert CALLS_STOPPED not in checkout.findings.own


def test_a_call_that_went_to_another_callee_is_another_branch_not_a_stop() -> None:
    """checkout calls sms where it called email (other requests take another branch): an early
    return calls less, not elsewhere, so email's lost share is no stop of checkout's."""
    ranking = rank_candidates(_bundle(["cart", "shipping", "sms"]))
    checkout = next(s for s in ranking.services if s.service == "checkout")
    assert CALLS_STOPPED not in checkout.findings.own
    assert checkout.score == 0.0


def test_a_callee_that_burns_more_cpu_but_answers_as_before_explains_no_stop() -> None:
    """cart's CPU doubles with the change while its calls answer as fast and as well as before:
    checkout, which stopped calling shipping and email, had no reason in cart to give up, so the
    stop is its own evidence and it ranks above cart."""
    bundle = _bundle(["cart"])
    cpu = [(START + t, 0.2 if START + t < CHANGE else 0.4 + 0.001 * (t % 3)) for t in range(0, 181, 10)]
    bundle = bundle.model_copy(
        update={"metrics": [MetricSeries(service="cart", signal=CPU, query="cpu of cart", points=cpu)]}
    )
    ranking = rank_candidates(bundle)
    assert ranking.services[0].service == "checkout"
    assert CALLS_STOPPED in ranking.services[0].findings.own
    cart = next(s for s in ranking.services if s.service == "cart")
    assert "cpu" in cart.findings.own
    assert cart.own > 0.2
