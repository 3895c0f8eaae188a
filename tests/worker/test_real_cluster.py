"""Against the real servers holding an incident under real-cluster names: Debian's Prometheus (one
RED family at a time), Loki 3.3.2 and VictoriaTraces, Aegis names `payment` with the evidence the
issue asks for, and sends nothing but allowlisted reads."""

import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.cluster_incident import (
    CRAFTED,
    RED_FAMILIES,
    ROOT,
    SERVICES,
    Timeline,
    catalog_error_lines,
    log_streams,
    write_openmetrics,
)
from aegis.devkit.harness.cluster_traces import traces_request
from aegis.devkit.harness.real_backends import RealLoki, RealVictoriaTraces, server_binary
from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.prometheus import PrometheusClient
from aegis.rca_worker.backends.readonly import ReadOnlyClient, check_allowed, endpoints_from_settings
from aegis.rca_worker.evidence import ERROR_RATIO, LATENCY_P95, OOM_KILLED
from aegis.rca_worker.pipeline.graph import analyse
from aegis.rca_worker.settings import WorkerSettings
from aegis.rca_worker.tools.loki_collect_evidence import loki_collect_evidence, selector_for
from aegis.rca_worker.tools.prometheus_query_range import prometheus_query_range
from aegis.shared.questions import TimeWindow
from aegis.simulator.real_prometheus import RealPrometheus

TENANT = "team-shop"
NOT_SERVICES = {"istio-proxy", "linkerd-proxy", "POD", "", "server", "kubelet", "ingress-nginx-controller"}


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    """The incident's times: 70 minutes ending a minute ago."""
    return Timeline.ending(time.time())


@pytest.fixture(scope="module")
def loki(timeline: Timeline) -> Iterator[str]:
    """Real Loki, multi-tenant, holding the incident's logs for `TENANT`."""
    with RealLoki(server_binary("AEGIS_LOKI_BIN", "Loki 3.3.2")) as server:
        server.push(TENANT, log_streams(timeline))
        yield server.url


@pytest.fixture(scope="module")
def traces(timeline: Timeline) -> Iterator[str]:
    """VictoriaTraces holding the incident's traces; its Jaeger API URL."""
    with RealVictoriaTraces(server_binary("AEGIS_VICTORIATRACES_BIN", "VictoriaTraces")) as server:
        server.push(traces_request(timeline))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = httpx.get(f"{server.jaeger_url}/api/services", timeout=5).json()["data"] or []
            if set(SERVICES) <= set(found):
                break
            time.sleep(0.5)
        yield server.jaeger_url


@pytest.fixture(scope="module", params=RED_FAMILIES)
def prometheus(
    request: pytest.FixtureRequest, timeline: Timeline, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(family, URL): Debian's Prometheus backfilled with cAdvisor, kube-state-metrics and one RED family."""
    family: str = request.param
    binary = require_binary("prometheus", package="Debian's prometheus package")
    promtool = require_binary("promtool", package="Debian's prometheus package")
    metrics = write_openmetrics(family, timeline, tmp_path_factory.mktemp(family) / "metrics.om")
    with RealPrometheus(None, binary, promtool, openmetrics=metrics, scrape_interval="30s") as server:
        yield family, server.url


def _settings(
    prometheus: str | None = None, loki: str | None = None, jaeger: str | None = None
) -> WorkerSettings:
    return WorkerSettings(
        prometheus_base_url=prometheus,
        loki_base_url=loki,
        jaeger_base_url=jaeger,
        loki_tenant_id=TENANT,
        loki_max_pages=20,
        baseline_lookback_s=1800,
        backend_budget_s=60,
    )


def _window(timeline: Timeline, minutes: float = 40) -> TimeWindow:
    end = datetime.fromtimestamp(timeline.end, UTC)
    return TimeWindow(start=end - timedelta(minutes=minutes), end=end)


@pytest.fixture
async def sent() -> AsyncIterator[tuple[httpx.AsyncClient, list[httpx.Request]]]:
    """An httpx client that records every request it sends."""
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        yield http, seen


def _mean(points: list[tuple[float, float]]) -> float:
    return sum(v for _, v in points) / max(1, len(points))


async def test_each_red_family_names_payment_with_its_error_and_latency_lines(
    prometheus: tuple[str, str],
    loki: str,
    traces: str,
    timeline: Timeline,
    sent: tuple[httpx.AsyncClient, list[httpx.Request]],
) -> None:
    """Per family: payment first, its error ratio and latency from that family jump at the onset, no
    sidecar, pod cgroup or shared container name is a service, and every request was a listed read."""
    family, url = prometheus
    http, seen = sent
    settings = _settings(prometheus=url, loki=loki, jaeger=traces)
    client = ReadOnlyClient(http, endpoints_from_settings(settings))
    analysis = await analyse(client, settings, None, _window(timeline))
    bundle = analysis.bundle
    top = analysis.candidates("zh")[0]
    assert top.service == ROOT
    assert re.match(r"payment 在异常前 [1-4] 分钟发布了新版本", top.hypothesis), top.hypothesis
    assert top.evidence[0].query.startswith("sum by (aegis_service, aegis_namespace, replicaset)")
    for signal in (ERROR_RATIO, LATENCY_P95):
        series = next(
            m for m in bundle.metrics if m.service == ROOT and m.signal == signal and m.family == family
        )
        before = [p for p in series.points if p[0] < timeline.onset - 300]
        after = [p for p in series.points if p[0] > timeline.onset + 300]
        assert _mean(after) > 3 * _mean(before), (signal, series.query)
    named = {m.service for m in bundle.metrics} | set(bundle.services)
    assert not named & NOT_SERVICES
    assert set(SERVICES) <= named
    assert not [g for g in bundle.gaps if g.source == "prometheus"], bundle.gaps
    for request in seen:
        backend = next(b for b, e in client._endpoints.items() if str(request.url).startswith(e.base_url))
        base = httpx.URL(client._endpoints[backend].base_url).path.rstrip("/")
        check_allowed(backend, request.method, request.url.path.removeprefix(base))
    assert {r.method for r in seen} == {"GET"}


async def test_the_rollout_and_the_oomkill_are_evidence_on_payment(
    prometheus: tuple[str, str], timeline: Timeline, sent: tuple[httpx.AsyncClient, list[httpx.Request]]
) -> None:
    """kube-state-metrics: a new ReplicaSet and a generation bump at the rollout, an OOMKilled restart."""
    _, url = prometheus
    settings = _settings(prometheus=url)
    analysis = await analyse(
        ReadOnlyClient(sent[0], endpoints_from_settings(settings)), settings, None, _window(timeline)
    )
    changes = analysis.bundle.changes
    rollouts = [c for c in changes if c.kind == "rollout"]
    assert {c.service for c in changes} == {ROOT}
    assert any(abs(c.time - timeline.rollout) <= 1 and "ReplicaSet" in c.detail for c in rollouts)
    assert any(abs(c.time - timeline.rollout) <= 30 and "generation 1 → 2" in c.detail for c in rollouts)
    assert [round(c.time) for c in changes if c.kind == "oom_killed"] == [round(timeline.oom)]
    signals = {(m.service, m.signal) for m in analysis.bundle.metrics}
    assert (ROOT, OOM_KILLED) in signals


async def test_three_days_back_still_has_metric_evidence(
    prometheus: tuple[str, str], timeline: Timeline, sent: tuple[httpx.AsyncClient, list[httpx.Request]]
) -> None:
    """`--since 3d`: no query passes 11,000 points, and payment's error ratio is there."""
    _, url = prometheus
    settings = _settings(prometheus=url)
    client = ReadOnlyClient(sent[0], endpoints_from_settings(settings))
    analysis = await analyse(client, settings, None, _window(timeline, minutes=3 * 24 * 60))
    assert not [g for g in analysis.bundle.gaps if g.source == "prometheus"], analysis.bundle.gaps
    assert any(m.service == ROOT and m.signal == ERROR_RATIO and m.points for m in analysis.bundle.metrics)


async def test_a_crafted_label_value_leaves_every_other_service_its_evidence(
    prometheus: tuple[str, str], timeline: Timeline, sent: tuple[httpx.AsyncClient, list[httpx.Request]]
) -> None:
    """A service named `evil"} or vector(1) or {x=~".+` asked about with payment: payment keeps its series."""
    family, url = prometheus
    client = PrometheusClient(ReadOnlyClient(sent[0], endpoints_from_settings(_settings(prometheus=url))))
    evidence = await prometheus_query_range(client, [CRAFTED, ROOT], timeline.start, timeline.end, 30.0)
    assert not evidence.gaps, evidence.gaps
    assert {m.service for m in evidence.series if m.family == family} <= {ROOT, CRAFTED}
    assert any(m.service == ROOT and m.signal == ERROR_RATIO for m in evidence.series)
    if family == "spring":  # the one family whose data carries the crafted name
        assert any(m.service == CRAFTED and m.signal == ERROR_RATIO for m in evidence.series)


async def test_loki_reads_every_line_on_one_nanosecond_and_finds_the_fault(
    loki: str, timeline: Timeline, sent: tuple[httpx.AsyncClient, list[httpx.Request]]
) -> None:
    """catalog's 1,100-line dump and its chatter are all read, once; payment's NPE is one template."""
    client = LokiClient(ReadOnlyClient(sent[0], endpoints_from_settings(_settings(loki=loki))))
    evidence = await loki_collect_evidence(
        client, ["catalog", "payment", "cart"], timeline.start, timeline.end, max_pages=20
    )
    assert evidence.gaps == []
    catalog = sum(t.count for t in evidence.templates if t.service == "catalog")
    assert catalog == catalog_error_lines(timeline)
    assert evidence.truncated == []
    npe = [t for t in evidence.templates if t.service == ROOT and "NullPointerException" in t.template]
    assert len(npe) == 1
    assert npe[0].first_seen >= timeline.onset - 1
    assert not [t for t in evidence.templates if t.service == "cart"]


async def test_a_crafted_name_is_one_logql_value_against_real_loki(
    loki: str, timeline: Timeline, sent: tuple[httpx.AsyncClient, list[httpx.Request]]
) -> None:
    """`payment"} or {x=~".+` parses as one label value: Loki accepts the query and returns no line."""
    client = LokiClient(ReadOnlyClient(sent[0], endpoints_from_settings(_settings(loki=loki))))
    query = selector_for('payment"} or {app=~".+', '{{{label_key}="{service}"}}', "app")
    lines = await client.query_range(query, int(timeline.start * 1e9), int(timeline.end * 1e9), 100)
    assert lines == []


async def test_a_question_about_frontend_widens_through_the_traces_to_payment(
    traces: str, timeline: Timeline, sent: tuple[httpx.AsyncClient, list[httpx.Request]]
) -> None:
    """VictoriaTraces answers 400 on dependencies: callees come from traces, said once; payment named."""
    settings = _settings(jaeger=traces)
    client = ReadOnlyClient(sent[0], endpoints_from_settings(settings))
    analysis = await analyse(client, settings, ["frontend"], _window(timeline))
    bundle = analysis.bundle
    assert {"checkout", ROOT, "cart", "catalog"} <= set(bundle.services)
    assert analysis.candidates("en")[0].service == ROOT
    assert not [g for g in bundle.gaps if g.source == "jaeger"], bundle.gaps
    assert bundle.sources["jaeger"].count("call graph derived from traces") == 1
