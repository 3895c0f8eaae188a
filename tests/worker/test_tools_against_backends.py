"""Each evidence tool against the real Prometheus and the loopback Loki/Jaeger fakes finds what the
simulated incident (a code fault in payment) planted."""

from collections import Counter

import httpx

from aegis.rca_worker.backends.jaeger import JaegerClient
from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.prometheus import PrometheusClient
from aegis.rca_worker.evidence import ERROR_RATIO, RESTARTS
from aegis.rca_worker.pipeline.graph import analyse
from aegis.rca_worker.settings import WorkerSettings
from aegis.rca_worker.tools.jaeger_query_traces import jaeger_query_traces
from aegis.rca_worker.tools.loki_collect_evidence import loki_collect_evidence
from aegis.rca_worker.tools.prometheus_query_range import prometheus_query_range
from aegis.shared.questions import TimeWindow
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.offline import scenario_window
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.incident import TENANT, readonly


def _mean(values: list[float]) -> float:
    return sum(values) / max(1, len(values))


async def test_prometheus_tool_discovers_the_convention_and_sees_payment_errors_rise(
    real_prometheus: str, incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """Against the real server: conventions are discovered and payment's error ratio jumps after injection."""
    s = incident.scenario
    client = PrometheusClient(readonly(http, prometheus=real_prometheus))
    evidence = await prometheus_query_range(client, None, s.start, s.end, 15.0)
    assert evidence.gaps == []
    assert evidence.conventions == ["prometheus-http", "cadvisor", "kube-state-metrics"]
    assert {"payment", "checkout", "redis", "postgres"} <= evidence.services_known
    errors = next(m for m in evidence.series if m.service == "payment" and m.signal == ERROR_RATIO)
    before = _mean([v for t, v in errors.points if t < s.inject_time - 60])
    after = _mean([v for t, v in errors.points if t >= s.inject_time + 60])
    assert before < 0.02 < 0.05 < after
    assert 'service=~"payment"' in errors.query
    assert 'code=~"5.."' in errors.query
    assert any(m.service == "redis" and m.signal == RESTARTS for m in evidence.series)


async def test_prometheus_tool_limits_itself_to_the_services_in_scope(
    real_prometheus: str, incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """Asking about two services returns series of those two only."""
    s = incident.scenario
    client = PrometheusClient(readonly(http, prometheus=real_prometheus))
    evidence = await prometheus_query_range(client, ["payment", "postgres"], s.start, s.end, 15.0)
    assert {m.service for m in evidence.series} == {"payment", "postgres"}


async def test_loki_tool_clusters_payment_exceptions_into_a_template_with_tenant_header(
    loki_fake: LoopbackServer, incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """Payment's NullPointerException lines come back as one template, first seen after injection."""
    s = incident.scenario
    client = LokiClient(readonly(http, loki=loki_fake.url))
    seen_before = len(loki_fake.requests)  # the fake is the session's: other tests' requests came first
    evidence = await loki_collect_evidence(client, ["payment", "checkout"], s.start, s.end, page_limit=200)
    assert evidence.gaps == []
    exceptions = [
        t for t in evidence.templates if t.service == "payment" and "NullPointerException" in t.template
    ]
    assert len(exceptions) == 1
    template = exceptions[0]
    assert template.count >= 20
    assert template.first_seen >= s.inject_time
    assert "<num>" in template.template or "<hex>" in template.template or "<uuid>" in template.template
    assert template.query.startswith('{app="payment"}')
    assert all(headers.get("X-Scope-OrgID") == TENANT for _, _, headers in loki_fake.requests[seen_before:])


async def test_jaeger_tool_finds_error_origins_in_payment(
    jaeger_fake: LoopbackServer, incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """After injection, payment is where the deepest erroring span of failing traces is most often."""
    s = incident.scenario
    client = JaegerClient(readonly(http, jaeger=jaeger_fake.url))
    evidence = await jaeger_query_traces(client, None, s.start, s.end)
    assert evidence.gaps == []
    after = [o for o in evidence.origins if o.time >= s.inject_time]
    assert len(after) >= 10
    by_service = Counter(o.service for o in after)
    assert by_service.most_common(1)[0][0] == "payment"
    assert by_service["payment"] >= 2 * max(n for service, n in by_service.items() if service != "payment")
    assert ("checkout", "payment") in evidence.edges
    assert ("payment", "postgres") in evidence.edges
    trace = await client.trace(after[0].trace_id)
    assert trace.trace_id == after[0].trace_id
    assert trace.spans


async def test_analysis_over_real_prometheus_and_fakes_names_payment_first(
    real_prometheus: str,
    loki_fake: LoopbackServer,
    jaeger_fake: LoopbackServer,
    incident: ScenarioTelemetry,
    http: httpx.AsyncClient,
) -> None:
    """End to end: asked about the frontend, the scope widens to its callees and payment ranks first."""
    settings = WorkerSettings(baseline_lookback_s=0.0)
    client = readonly(http, prometheus=real_prometheus, loki=loki_fake.url, jaeger=jaeger_fake.url)
    window: TimeWindow = scenario_window(incident)
    analysis = await analyse(client, settings, ["frontend"], window)
    assert analysis.bundle.gaps == []
    assert "payment" in analysis.bundle.services
    result = analysis.to_result("req-1", "api", locale="en")
    assert result.root_causes[0].service == "payment"
    kinds = {e.kind for e in result.root_causes[0].evidence}
    assert kinds == {"metric", "log", "trace"}
    assert "payment" in result.root_causes[0].hypothesis
