"""The planted incident of the rca-worker's tests: one simulated incident, a real Prometheus holding
its history, loopback fakes of Loki and Jaeger serving its logs and traces, and a read-only client
for them. tests/worker/conftest.py (and e2e tests) import these fixtures.

The incident is a code fault in `payment` (errors, an exception in its logs, traces whose deepest
error is in payment) so that every backend has something planted to find.
"""

from collections.abc import Iterator

import httpx
import pytest

from aegis.devkit.harness.binaries import require_binary
from aegis.rca_worker.backends.readonly import Backend, BackendEndpoint, ReadOnlyClient
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.fakes.loki import FakeLoki
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.real_prometheus import RealPrometheus, recent_start
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry

TENANT = "team-shop"


@pytest.fixture(scope="session")
def incident() -> ScenarioTelemetry:
    """A code fault in payment, ending two minutes ago, with its telemetry generated."""
    telemetry = ScenarioTelemetry(make_scenario("exception", "payment", 1, start=recent_start()))
    _ = telemetry.logs, telemetry.traces, telemetry.series
    return telemetry


@pytest.fixture(scope="session")
def real_prometheus(incident: ScenarioTelemetry) -> Iterator[str]:
    """The Debian Prometheus on a free loopback port, its TSDB backfilled from the incident by promtool."""
    prometheus = require_binary("prometheus", package="Debian's prometheus package")
    promtool = require_binary("promtool", package="Debian's prometheus package")
    with RealPrometheus(incident, prometheus, promtool) as server:
        yield server.url


@pytest.fixture(scope="session")
def loki_fake(incident: ScenarioTelemetry) -> Iterator[LoopbackServer]:
    """The fake Loki serving the incident's log lines on loopback."""
    with LoopbackServer(FakeLoki(incident).handle) as server:
        yield server


@pytest.fixture(scope="session")
def jaeger_fake(incident: ScenarioTelemetry) -> Iterator[LoopbackServer]:
    """The fake Jaeger query service serving the incident's traces on loopback."""
    with LoopbackServer(FakeJaeger(incident).handle) as server:
        yield server


@pytest.fixture
def prometheus_fake(incident: ScenarioTelemetry) -> Iterator[LoopbackServer]:
    """The fake Prometheus (for misbehaviour tests: this one can be made slow or nonsensical)."""
    with LoopbackServer(FakePrometheus(incident).handle) as server:
        yield server


def readonly(
    http: httpx.AsyncClient, timeouts: dict[str, float] | None = None, **urls: str
) -> ReadOnlyClient:
    """A read-only client for the given backends (`prometheus=`, `loki=`, `jaeger=` URLs), 5 s timeouts,
    no retries."""
    timeouts = timeouts or {}
    endpoints = {
        Backend(name): BackendEndpoint(
            url,
            timeouts.get(name, 5.0),
            {"X-Scope-OrgID": TENANT} if name == "loki" else {},
            attempts=1,  # one try: these tests time failures; retries have tests of their own
        )
        for name, url in urls.items()
    }
    return ReadOnlyClient(http, endpoints)
