"""The simulator's realism switches: each makes the generated telemetry look like real recordings do."""

import json
from dataclasses import replace
from statistics import median
from typing import Any

import pytest

from aegis.rca_worker.evidence import ERROR_RATIO, LATENCY_P95, LATENCY_P99, REQUEST_RATE
from aegis.simulator.eval import main
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.logs import LogRecord
from aegis.simulator.realism import CLASSIC, REALISTIC, Realism, parse_realism
from aegis.simulator.scenarios import FAULTS, STEPS, Scenario, make_scenario, scenario_set
from aegis.simulator.telemetry import ScenarioTelemetry

# Every switch but the short trace window, whose position follows the injection (a twin without the
# fault then keeps the same traces to compare), in the shop's twelve services (quicker to generate).
SHOP_WHOLE_WINDOW = replace(REALISTIC, short_trace_window=False, wide_estate=False)
STATUS_KEYS = {"error", "error.type", "otel.status_code", "http.status_code", "rpc.grpc.status_code"}
DURATIONS = {LATENCY_P95, LATENCY_P99}


def _twin_without_fault(scenario: Scenario) -> ScenarioTelemetry:
    """The same scenario, same random draws, with the fault never starting."""
    return ScenarioTelemetry(replace(scenario, inject_step=STEPS))


def _span_tags(telemetry: ScenarioTelemetry) -> list[set[str]]:
    return [{t["key"] for t in span["tags"]} for r in telemetry.traces for span in r.json["spans"]]


def _without_timing(telemetry: ScenarioTelemetry) -> list[list[tuple[str, str, list[Any]]]]:
    return [[(s["spanID"], s["operationName"], s["tags"]) for s in r.json["spans"]] for r in telemetry.traces]


def _lines(logs: list[LogRecord]) -> list[tuple[int, str, str, str]]:
    return [(r.time_ns, r.service, r.level, r.line) for r in logs]


def test_realism_names_parse_and_bad_names_are_refused() -> None:
    """`classic`, `realistic` and comma-separated switches parse; an unknown switch names itself."""
    assert parse_realism("classic") == CLASSIC
    assert parse_realism("realistic") == REALISTIC
    assert parse_realism("untagged-spans,wide-estate") == Realism(untagged_spans=True, wide_estate=True)
    assert parse_realism("untagged-spans,wide-estate").name == "untagged-spans,wide-estate"
    with pytest.raises(ValueError, match="status-codes"):
        parse_realism("untagged-spans,status-codes")


def test_untagged_spans_carry_no_status_even_when_calls_fail() -> None:
    """With `untagged_spans` no span says it failed, although the same case's classic spans do;
    a search for erroring traces then finds none."""
    realistic = ScenarioTelemetry(make_scenario("down", "cart", 1, realism=REALISTIC))
    classic = ScenarioTelemetry(make_scenario("down", "cart", 1))
    assert any(tags & STATUS_KEYS for tags in _span_tags(classic))
    tags = _span_tags(realistic)
    assert len(tags) > 1000
    assert not any(t & STATUS_KEYS for t in tags)
    search = FakeJaeger(realistic).handle(
        "GET", "/api/traces", [("service", "frontend"), ("tags", '{"error":"true"}'), ("limit", "20")]
    )
    assert search.status == 200
    assert search.body["data"] == []


def test_a_code_fault_only_shifts_the_roots_info_templates() -> None:
    """With `quiet_code_faults` an exception leaves metrics, traces and every WARN/ERROR line as they
    would be without it; only some of the root's INFO "done" lines become caught-exception lines."""
    scenario = make_scenario("exception", "payment", 1, realism=SHOP_WHOLE_WINDOW)
    faulty, normal = ScenarioTelemetry(scenario), _twin_without_fault(scenario)
    assert faulty.series == normal.series
    assert [r.json for r in faulty.traces] == [r.json for r in normal.traces]
    changed = [(a, b) for a, b in zip(_lines(faulty.logs), _lines(normal.logs), strict=True) if a != b]
    assert len(changed) > 20
    for (at, service, level, line), (_, _, normal_level, normal_line) in changed:
        assert (service, level, normal_level) == ("payment", "info", "info")
        assert at >= scenario.inject_time * 1e9
        assert "catch price exception" in line
        assert "query done" in normal_line
    assert not any(r.level == "error" and "exception" in r.line.lower() for r in faulty.logs)


@pytest.mark.parametrize("realism", [CLASSIC, SHOP_WHOLE_WINDOW], ids=["classic", "realistic"])
def test_a_delay_changes_only_durations(realism: Realism) -> None:
    """A delay leaves logs, rates, errors, CPU and memory as they would be without it, and the traces'
    structure and tags; latency and the root's span durations grow."""
    scenario = make_scenario("delay", "shipping", 2, realism=realism)
    faulty, normal = ScenarioTelemetry(scenario), _twin_without_fault(scenario)
    assert _lines(faulty.logs) == _lines(normal.logs)
    for key, points in faulty.series.items():
        if key[1] not in DURATIONS:
            assert points == normal.series[key], key
    assert _without_timing(faulty) == _without_timing(normal)

    def late_p95(telemetry: ScenarioTelemetry) -> float:
        points = telemetry.series[("shipping", LATENCY_P95)]
        return median(v for t, v in points if t >= scenario.inject_time)

    assert late_p95(faulty) > 2 * late_p95(normal)


def test_the_wide_estate_has_forty_services_that_all_report() -> None:
    """The wide estate has ≥ 40 services; each has container metrics, each HTTP one spans."""
    telemetry = ScenarioTelemetry(make_scenario("cpu", "catalog", 1, realism=REALISTIC))
    estate = telemetry.history.estate
    assert len(estate.services) >= 40
    assert {s for s, _ in telemetry.series} == set(estate.services)
    in_traces = {s for r in telemetry.traces for s in r.services}
    rare = {s for s in estate.http_services if median(v for _, v in telemetry.series[(s, REQUEST_RATE)]) < 1}
    assert set(estate.http_services) - rare <= in_traces
    assert len(in_traces) >= 30


def test_low_traffic_series_have_holes_and_busy_ones_none() -> None:
    """With `sparse_series` a low-traffic service's latency has minutes without a point, as the
    Prometheus fake answers it, while its request rate and the busy services' series are whole."""
    telemetry = ScenarioTelemetry(make_scenario("mem", "cart", 1, realism=REALISTIC))
    prometheus = FakePrometheus(telemetry)
    s = telemetry.scenario

    def points(query: str) -> dict[str, int]:
        params = [("query", query), ("start", str(s.start)), ("end", str(s.end)), ("step", "15")]
        body: Any = prometheus.handle("GET", "/api/v1/query_range", params).body
        return {r["metric"]["service"]: len(r["values"]) for r in body["data"]["result"]}

    latency = points(
        "histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket[1m])))"
    )
    rate = points("sum by (service) (rate(http_requests_total[1m]))")
    sparse = {service for service, n in latency.items() if n < 0.9 * STEPS}
    assert len(sparse) >= 3
    assert all(rate[service] == STEPS for service in sparse)
    assert {"frontend", "checkout", "payment", "catalog", "currency"}.isdisjoint(sparse)
    classic = ScenarioTelemetry(make_scenario("mem", "cart", 1))
    whole = [
        len(p) == STEPS for (svc, sig), p in classic.series.items() if sig == ERROR_RATIO and svc != "cart"
    ]
    assert all(whole)


@pytest.mark.parametrize("fault", FAULTS)
def test_traces_cover_two_to_three_minutes_around_the_injection(fault: str) -> None:
    """With `short_trace_window` traces start 10–90 s before the injection and span 2–3 minutes, densely."""
    scenario = make_scenario(fault, "checkout", 3, realism=Realism(short_trace_window=True))
    telemetry = ScenarioTelemetry(scenario)
    starts = [r.start_us / 1e6 for r in telemetry.traces]
    assert len(starts) >= 100
    assert 10 - 15 <= scenario.inject_time - min(starts) <= 90
    assert 120 - 15 <= max(starts) - min(starts) <= 180
    classic = [r.start_us / 1e6 for r in ScenarioTelemetry(make_scenario(fault, "checkout", 3)).traces]
    assert max(classic) - min(classic) > 30 * 60


def test_the_realistic_case_set_keeps_its_cases_faults_and_seeds() -> None:
    """The realistic profile has the classic case set's 168 cases and fault types, and the same case
    generates the same telemetry twice."""
    realistic, classic = scenario_set(realism=REALISTIC), scenario_set()
    assert len(realistic) == 168
    assert [s.case_id for s in realistic] == [s.case_id for s in classic]
    assert {s.fault for s in realistic} == set(FAULTS)
    once = ScenarioTelemetry(make_scenario("loss", "postgres", 2, realism=REALISTIC))
    again = ScenarioTelemetry(make_scenario("loss", "postgres", 2, realism=REALISTIC))
    assert once.series == again.series
    assert _lines(once.logs) == _lines(again.logs)
    assert [r.json for r in once.traces] == [r.json for r in again.traces]


def test_eval_runs_the_realistic_profile_and_refuses_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`aegis eval --realism realistic` scores cases of the realistic simulator; a bad name exits 2."""
    args = ["--json", "--no-progress", "--faults", "cpu", "--limit", "1", "--jobs", "1"]
    assert main([*args, "--realism", "realistic"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 1
    assert set(report["per_case"][0]["modalities"]) >= {"metrics", "traces", "logs"}
    assert main([*args, "--realism", "shiny"]) == 2
    assert "--realism: unknown realism shiny" in capsys.readouterr().err
