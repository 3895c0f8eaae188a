"""Running the real engine over a scenario without sockets: the fakes behind an `httpx.MockTransport`.

The benchmark goes through exactly the code a live analysis runs — the read-only client, the three
tools, the ranking — so its figures say something about the product, not about a shortcut.
"""

from datetime import UTC, datetime

import httpx

from aegis.rca_worker.analysis import Analysis, analyse
from aegis.rca_worker.backends.readonly import ReadOnlyClient, endpoints_from_settings
from aegis.rca_worker.settings import RcaSettings
from aegis.shared.questions import TimeWindow
from aegis.simulator.fakes.http import mock_transport
from aegis.simulator.fakes.jaeger import FakeJaeger
from aegis.simulator.fakes.loki import FakeLoki
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.telemetry import ScenarioTelemetry

HOSTS = {"prometheus": "prometheus.sim", "loki": "loki.sim", "jaeger": "jaeger.sim"}


def offline_settings() -> RcaSettings:
    """Settings pointing at the in-process fakes, with no lookback (the scenario is the whole window)."""
    return RcaSettings(
        prometheus_base_url=f"http://{HOSTS['prometheus']}",
        loki_base_url=f"http://{HOSTS['loki']}",
        jaeger_base_url=f"http://{HOSTS['jaeger']}",
        baseline_lookback_s=0.0,
    )


def scenario_window(telemetry: ScenarioTelemetry) -> TimeWindow:
    """The scenario's whole time range as an analysis window."""
    s = telemetry.scenario
    return TimeWindow(start=datetime.fromtimestamp(s.start, UTC), end=datetime.fromtimestamp(s.end + 1, UTC))


async def analyse_offline(telemetry: ScenarioTelemetry, settings: RcaSettings | None = None) -> Analysis:
    """`analyse` over the whole estate of one scenario, answered by the in-process fakes."""
    settings = settings or offline_settings()
    transport = mock_transport(
        {
            HOSTS["prometheus"]: FakePrometheus(telemetry).handle,
            HOSTS["loki"]: FakeLoki(telemetry).handle,
            HOSTS["jaeger"]: FakeJaeger(telemetry).handle,
        }
    )
    async with httpx.AsyncClient(transport=transport) as http:
        client = ReadOnlyClient(http, endpoints_from_settings(settings), settings.evidence_concurrency)
        return await analyse(client, settings, None, scenario_window(telemetry))
