"""A backend that is down, slow past its timeout, or answers garbage becomes a recorded gap; the
analysis still completes from the others."""

import time

import httpx
import pytest

from aegis.devkit.harness.ports import reserved_socket
from aegis.rca_worker.pipeline.graph import analyse
from aegis.rca_worker.settings import WorkerSettings
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.offline import scenario_window
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.incident import readonly

SETTINGS = WorkerSettings(baseline_lookback_s=0.0)


async def test_prometheus_down_is_a_gap_and_the_answer_comes_from_logs_and_traces(
    loki_fake: LoopbackServer,
    jaeger_fake: LoopbackServer,
    incident: ScenarioTelemetry,
    http: httpx.AsyncClient,
) -> None:
    """Nothing listens where Prometheus should be: one gap naming prometheus, payment still first."""
    with reserved_socket() as unused:  # bound, never listening: nothing else can serve there meanwhile
        down = f"http://127.0.0.1:{unused.getsockname()[1]}"
        client = readonly(http, prometheus=down, loki=loki_fake.url, jaeger=jaeger_fake.url)
        analysis = await analyse(client, SETTINGS, None, scenario_window(incident))
    assert [g.source for g in analysis.bundle.gaps] == ["prometheus"]
    assert "unreachable" in analysis.bundle.gaps[0].reason
    result = analysis.to_result("req-down", "api", locale="en")
    assert result.root_causes[0].service == "payment"
    assert result.degraded
    assert result.evidence_gaps


async def test_slow_loki_times_out_into_a_gap_within_its_budget(
    prometheus_fake: LoopbackServer,
    loki_fake: LoopbackServer,
    jaeger_fake: LoopbackServer,
    incident: ScenarioTelemetry,
    http: httpx.AsyncClient,
) -> None:
    """Loki answering after 3 s with a 0.5 s timeout: loki gaps, Loki's part done well under 3 s."""
    slow = LoopbackServer(loki_fake.handler).start()
    slow.mode, slow.delay_s = "slow", 3.0
    try:
        client = readonly(
            http, {"loki": 0.5}, prometheus=prometheus_fake.url, loki=slow.url, jaeger=jaeger_fake.url
        )
        began = time.perf_counter()
        analysis = await analyse(client, SETTINGS, None, scenario_window(incident))
        elapsed = time.perf_counter() - began
    finally:
        slow.mode = "ok"
        slow.stop()
    # Loki's part ends at its 0.5 s timeout, not at its 3 s answer; the other backends' own work
    # (discovery, kube-state, two rounds of trace searches) is what the rest of the time is.
    assert analysis.timings["loki_ms"] < 2500
    assert elapsed < 10
    assert {g.source for g in analysis.bundle.gaps} == {"loki"}
    assert any("timed out" in g.reason for g in analysis.bundle.gaps)
    assert analysis.ranking.top(1)[0].service == "payment"


@pytest.mark.parametrize("broken", ["prometheus", "loki", "jaeger"])
async def test_garbage_answers_are_gaps_not_crashes(
    broken: str,
    prometheus_fake: LoopbackServer,
    loki_fake: LoopbackServer,
    jaeger_fake: LoopbackServer,
    incident: ScenarioTelemetry,
    http: httpx.AsyncClient,
) -> None:
    """A backend answering non-JSON with status 200 is recorded as a gap of that backend only."""
    servers = {"prometheus": prometheus_fake, "loki": loki_fake, "jaeger": jaeger_fake}
    garbage = LoopbackServer(servers[broken].handler).start()
    garbage.mode = "garbage"
    urls = {name: server.url for name, server in servers.items()} | {broken: garbage.url}
    try:
        client = readonly(http, None, prometheus=urls["prometheus"], loki=urls["loki"], jaeger=urls["jaeger"])
        analysis = await analyse(client, SETTINGS, None, scenario_window(incident))
    finally:
        garbage.stop()
    assert analysis.bundle.gaps
    assert {g.source for g in analysis.bundle.gaps} == {broken}
    assert analysis.ranking.top(3)


async def test_no_backend_configured_still_answers(
    incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """With no backend at all, the result says so in its gaps and carries no candidates."""
    analysis = await analyse(readonly(http), SETTINGS, None, scenario_window(incident))
    assert {g.source for g in analysis.bundle.gaps} == {"prometheus", "loki", "jaeger"}
    result = analysis.to_result("req-none", "api")
    assert result.root_causes == []
    assert result.degraded
