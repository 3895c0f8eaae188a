"""The worker under the chart's NATS authorization: it needs no right beyond its own user's."""

from pathlib import Path

import nats

from aegis.devkit.harness.nats_auth import PASSWORDS, secured_nats_server
from aegis.rca_worker.service.app import make_app
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, answer_to, ask, question
from tests.worker.conftest import running, worker_settings


async def test_the_worker_answers_with_its_own_least_privileged_nats_user(
    tmp_path: Path, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """As `rca-worker` on a server with the chart's authorization: consumers made, a question asked
    by alert-ingest's user answered, and not one permission refused."""
    with secured_nats_server(tmp_path / "nats") as server:
        settings = worker_settings(
            server.url, backends, nats_user="rca-worker", nats_password=PASSWORDS["rca-worker"]
        )
        ingest = await nats.connect(server.url, user="alert-ingest", password=PASSWORDS["alert-ingest"])
        try:
            async with running(make_app(settings)):
                event = question(incident, "   ", source="api")
                await ask(ingest, event)
                operator = await nats.connect(server.url, user="operator", password=PASSWORDS["operator"])
                try:
                    result = await answer_to(operator, event.request_id, source="api")
                finally:
                    await operator.close()
        finally:
            await ingest.close()
    assert "Tell me what to look at" in result.summary
    assert "Permissions Violation" not in (tmp_path / "nats" / "store" / "nats-server.log").read_text()
