"""The notifier's /healthz and /readyz tell the truth: ready while it consumes, not while NATS is
gone, and failing (so the kubelet restarts it) when a consumer loop stopped beating."""

import asyncio

import httpx

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.notifier_runner import notifier_settings, running_notifier
from aegis.notifier.app import create_app
from aegis.shared.health import Heartbeats


async def test_ready_while_consuming_not_ready_while_nats_is_down_ready_again_after(
    nats_server: NatsServer, feishu: FakeFeishu
) -> None:
    """/readyz 200 once the three loops run, 503 naming NATS while it is down, 200 after it is back."""
    async with running_notifier(notifier_settings(nats_server.url, feishu)) as notifier:
        transport = httpx.ASGITransport(app=create_app(notifier))
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
            statuses: dict[str, int] = {}

            async def probe(path: str) -> int:
                try:
                    statuses[path] = (await http.get(path)).status_code
                except httpx.TransportError:
                    statuses[path] = 0
                return statuses[path]

            async def ready_is(code: int) -> None:
                for _ in range(200):
                    if await probe("/readyz") == code:
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError(f"/readyz never answered {code} (last {statuses})")

            await ready_is(200)
            assert sorted(notifier.heartbeats.loops()) == [
                "notifier-ack",
                "notifier-alerts",
                "notifier-results",
            ]
            nats_server.stop()
            await ready_is(503)
            assert "NATS" in (await http.get("/readyz")).json()["reason"]
            assert await probe("/healthz") == 200, "an outage is not a reason to restart"
            nats_server.start()
            await ready_is(200)
            assert "aegis_notifier_cards_sent_total" in (await http.get("/metrics")).text


def test_a_loop_that_stopped_beating_fails_liveness() -> None:
    """A consumer loop silent for longer than its limit names itself in the failing health."""
    now = [0.0]
    beats = Heartbeats(stale_after_s=30.0, clock=lambda: now[0])
    alerts = beats.beat("notifier-alerts")
    beats.beat("notifier-results")
    now[0] = 20.0
    alerts()
    now[0] = 40.0
    assert beats.stale() == ["notifier-results"]
