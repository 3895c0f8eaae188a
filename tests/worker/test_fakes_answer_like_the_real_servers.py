"""The fakes the fast tests use answer like the real servers on the points the clients depend on:
tenant 401, text errors, limits, `data: null`, and dependencies that are empty or unsupported."""

import httpx
import pytest

from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.readonly import Backend, BackendEndpoint, ReadOnlyClient
from aegis.rca_worker.pipeline.graph import analyse
from aegis.rca_worker.settings import WorkerSettings
from aegis.rca_worker.tools.loki_collect_evidence import loki_collect_evidence
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.fakes.loki import FakeLoki
from aegis.simulator.offline import scenario_window
from aegis.simulator.telemetry import ScenarioTelemetry


async def test_multi_tenant_loki_without_the_tenant_header_is_a_gap_naming_it(
    incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """No X-Scope-OrgID: Loki's text 401 "no org id" becomes a gap that says the tenant was refused."""
    s = incident.scenario
    with LoopbackServer(FakeLoki(incident).handle, tenant_header="X-Scope-OrgID") as server:
        client = LokiClient(
            ReadOnlyClient(http, {Backend.LOKI: BackendEndpoint(server.url, 2.0, attempts=1)})
        )
        evidence = await loki_collect_evidence(client, None, s.start, s.end)
    assert len(evidence.gaps) == 1
    assert "tenant header refused" in evidence.gaps[0].reason
    assert "no org id" in evidence.gaps[0].reason


async def test_the_fake_loki_refuses_what_the_real_one_refuses(
    incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """A bad query, a limit over 5,000 and a range over 721 h are text 400s; the client clamps the two."""
    s = incident.scenario
    with LoopbackServer(FakeLoki(incident).handle) as server:
        raw = await http.get(f"{server.url}/loki/api/v1/query_range", params={"query": "{app=", "limit": 10})
        big = await http.get(
            f"{server.url}/loki/api/v1/query_range", params={"query": '{app="payment"}', "limit": 6000}
        )
        client = LokiClient(
            ReadOnlyClient(http, {Backend.LOKI: BackendEndpoint(server.url, 2.0, attempts=1)})
        )
        start_ns, end_ns = int((s.end - 40 * 86400) * 1e9), int(s.end * 1e9)
        lines = await client.query_range('{app="payment"}', start_ns, end_ns, 6000)
    assert (raw.status_code, raw.headers["content-type"].split(";")[0]) == (400, "text/plain")
    assert raw.text.startswith("parse error")
    assert big.status_code == 400
    assert "max_entries_limit" in big.text
    assert 0 < len(lines) <= 5000


@pytest.mark.parametrize("dependencies", ["empty", "unsupported"])
async def test_without_dependencies_the_scope_widens_through_traces(
    dependencies: str, incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """Jaeger answering `[]` (no spark job) or 400 (VictoriaTraces): asking about frontend reaches payment."""
    with LoopbackServer(FakeJaeger(incident, dependencies).handle) as server:
        client = ReadOnlyClient(http, {Backend.JAEGER: BackendEndpoint(server.url, 5.0, attempts=1)})
        analysis = await analyse(client, WorkerSettings(), ["frontend"], scenario_window(incident))
    assert "payment" in analysis.bundle.services
    assert not [g for g in analysis.bundle.gaps if g.source == "jaeger"]
    assert analysis.bundle.sources["jaeger"].count("call graph derived from traces") == 1
