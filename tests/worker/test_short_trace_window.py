"""Traces kept only for minutes around an incident (as Nezha keeps them): the engine samples them where
they are, dates the onset with the metrics beside them, and times a leaf call by the peer it waits on."""

from aegis.rca_worker.backends.jaeger import Span, Trace
from aegis.rca_worker.evidence import EvidenceBundle, MetricSeries, OperationTimings
from aegis.rca_worker.ranking.candidates import detect_onset
from aegis.rca_worker.tools.jaeger_query_traces import _held_span
from aegis.rca_worker.trace_analysis import TraceDigest
from aegis.simulator.eval import run_case
from aegis.simulator.offline import analyse_offline
from aegis.simulator.realism import Realism
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry

START, CHANGE, END = 1_700_000_000.0, 1_700_001_800.0, 1_700_002_400.0


def test_traces_of_a_few_minutes_do_not_date_the_onset_alone() -> None:
    """Steady traces for three minutes around the change and a latency step in metrics that cover the
    whole window: the onset is the metrics' step, not the middle of the window."""
    steady = OperationTimings(
        service="cart",
        operation="GetCart",
        kind="self_time",
        samples=[(CHANGE - 60 + i, 3.0 + 0.1 * (i % 3)) for i in range(180)],
    )
    step = [(float(t), 0.2 if t < CHANGE else 2.0) for t in range(int(START), int(END) + 1, 15)]
    bundle = EvidenceBundle(
        start=START,
        end=END,
        services=["cart"],
        operations=[steady],
        metrics=[MetricSeries(service="cart", signal="latency_p95", query="cart", points=step)],
    )
    onset = detect_onset(bundle)
    assert onset is not None
    assert abs(onset - CHANGE) <= 15


def test_a_childless_client_span_times_its_peer_not_its_caller() -> None:
    """catalog's `call postgres` span has no child (a database is not traced): its time is postgres's."""
    digest = TraceDigest()
    for i in range(10):
        us = int((START + i) * 1e6)
        digest.add(
            Trace(
                f"t{i}",
                [
                    Span(f"t{i}", f"t{i}-s", None, "catalog", "catalog.Handle", us, 90_000, False),
                    Span(
                        f"t{i}",
                        f"t{i}-c",
                        f"t{i}-s",
                        "catalog",
                        "call postgres",
                        us + 10,
                        80_000,
                        False,
                        {"span.kind": "client", "db.system": "postgres"},
                    ),
                ],
            )
        )
    timed = {(o.service, o.operation) for o in digest.operations() if o.kind == "self_time"}
    assert timed == {("catalog", "catalog.Handle"), ("postgres", "call postgres")}


def test_slices_are_sampled_again_where_the_traces_are() -> None:
    """Two entry services, eight slices: traces held in slices 5 and 6 only are sampled again across
    those two; traces in most slices are already sampled where they are."""
    held = [False] * 16
    held[5], held[8 + 6] = True, True
    assert _held_span(held, 2, 0, 800, 8) == (500, 700)
    assert _held_span([True] * 16, 2, 0, 800, 8) is None
    assert _held_span([False] * 16, 2, 0, 800, 8) is None


def test_a_short_trace_window_still_has_traces_before_the_fault() -> None:
    """The live search of a store that kept 2–3 minutes of traces times operations on both sides."""
    scenario = make_scenario("delay", "postgres", 1, realism=Realism(short_trace_window=True))
    analysis = run_case(analyse_offline(ScenarioTelemetry(scenario)))
    times = [t for o in analysis.bundle.operations if o.kind == "self_time" for t, _ in o.samples]
    assert sum(t < scenario.inject_time for t in times) >= 10
    assert sum(t >= scenario.inject_time for t in times) >= 10
