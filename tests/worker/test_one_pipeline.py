"""One pipeline: the live analysis asks for the call graph once and ranks with the per-operation
trace timings, as `aegis eval --dataset` does with recorded traces."""

import httpx
import pytest

from aegis.rca_worker.backends.readonly import Backend, BackendEndpoint, ReadOnlyClient
from aegis.rca_worker.pipeline.graph import analyse
from aegis.rca_worker.settings import WorkerSettings
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.offline import scenario_window
from aegis.simulator.telemetry import ScenarioTelemetry


@pytest.mark.parametrize("dependencies", ["computed", "empty"])
async def test_a_named_service_costs_one_dependencies_request(
    dependencies: str, incident: ScenarioTelemetry
) -> None:
    """Scope widens frontend to its callees and collect reuses that graph: `/api/dependencies` once."""
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        paths.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        with LoopbackServer(FakeJaeger(incident, dependencies).handle) as server:
            client = ReadOnlyClient(http, {Backend.JAEGER: BackendEndpoint(server.url, 5.0, attempts=1)})
            analysis = await analyse(client, WorkerSettings(), ["frontend"], scenario_window(incident))
    assert paths.count("/api/dependencies") == 1
    assert "payment" in analysis.bundle.services
    assert not [g for g in analysis.bundle.gaps if g.source == "jaeger"]


async def test_the_live_ranking_reads_per_operation_timings(
    incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """The trace tool's self-time, call-gap and calls-made samples reach the bundle the ranking reads."""
    with LoopbackServer(FakeJaeger(incident).handle) as server:
        client = ReadOnlyClient(http, {Backend.JAEGER: BackendEndpoint(server.url, 5.0, attempts=1)})
        analysis = await analyse(client, WorkerSettings(), None, scenario_window(incident))
    kinds = {o.kind for o in analysis.bundle.operations}
    assert kinds == {"self_time", "call_gap", "calls"}
    timed = {o.service for o in analysis.bundle.operations if o.samples}
    assert {"frontend", "payment"} <= timed
