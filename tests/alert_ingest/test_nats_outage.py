"""While NATS is down or full the service keeps serving, says it is not ready, and answers 503 with
Retry-After; what JetStream can never store is a 4xx naming why."""

import nats
import nats.aio.client
from nats.js.api import StreamConfig

from aegis.devkit.harness.asgi import until_status
from aegis.devkit.harness.nats_server import NatsServer
from aegis.shared.streams import ALERTS_STREAM, Topology, stream_configs
from tests.alert_ingest.conftest import alert_messages, make_settings, post_webhook, running_app
from tests.alert_ingest.payloads import numbered_webhook


async def test_nats_stopped_then_restarted(nats_server: NatsServer) -> None:
    """NATS stopped → 503 + Retry-After and /readyz 503; restarted → the retry is 200 and published."""
    async with running_app(make_settings(nats_server.url)) as client:
        assert (await post_webhook(client, numbered_webhook(1))).status_code == 200

        nats_server.stop()
        not_ready = await until_status(client, "/readyz", 503)
        refused = await post_webhook(client, numbered_webhook(2))

        assert "NATS" in not_ready.json()["reason"]
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert "retry later" in refused.json()["detail"]
        assert (await client.get("/healthz")).status_code == 200

        nats_server.start()
        await until_status(client, "/readyz", 200)
        retried = await post_webhook(client, numbered_webhook(2))

        assert retried.status_code == 200
        assert retried.json()["duplicate"] is False

    nc = await nats.connect(nats_server.url)
    try:
        messages = await alert_messages(nc)
    finally:
        await nc.close()
    assert len(messages) == 2


async def test_starts_and_serves_before_nats_is_up(nats_server: NatsServer) -> None:
    """Started with NATS down → /healthz 200, /readyz and webhooks 503; NATS up → ready and 200."""
    nats_server.stop()
    async with running_app(make_settings(nats_server.url), wait_ready=False) as client:
        assert (await client.get("/healthz")).status_code == 200
        readyz = await client.get("/readyz")
        assert readyz.status_code == 503
        assert readyz.json()["reason"] == "connecting to NATS"
        assert (await post_webhook(client, numbered_webhook(1))).status_code == 503

        nats_server.start()
        await until_status(client, "/readyz", 200, timeout=20)
        assert (await post_webhook(client, numbered_webhook(1))).status_code == 200


async def test_streams_lost_by_the_server_are_declared_again(nats_server: NatsServer) -> None:
    """Streams gone from the server (a fresh pod) → 503 at first, then redeclared and 200."""
    async with running_app(make_settings(nats_server.url)) as client:
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().delete_stream("AEGIS_ALERTS")
        finally:
            await nc.close()

        first = await post_webhook(client, numbered_webhook(1))
        assert first.status_code == 503
        assert "no JetStream stream" in first.json()["detail"]

        await until_status(client, "/readyz", 200)
        assert (await post_webhook(client, numbered_webhook(1))).status_code == 200


async def bounded_alert_stream(nc: nats.aio.client.Client, **limits: int) -> None:
    """The alert stream as alert-ingest declares it, with tighter limits."""
    [config] = [c for c in stream_configs(Topology()) if c.name == ALERTS_STREAM]
    await nc.jetstream().update_stream(StreamConfig.from_response({**config.as_dict(), **limits}))


async def test_a_full_stream_is_503_with_retry_after_and_the_reason(nats_server: NatsServer) -> None:
    """A stream at its limit (discard new) takes nothing more: 503 + Retry-After naming the limit."""
    async with running_app(make_settings(nats_server.url)) as client:
        nc = await nats.connect(nats_server.url)
        try:
            await bounded_alert_stream(nc, max_msgs=1)
            assert (await post_webhook(client, numbered_webhook(1))).status_code == 200
            full = await post_webhook(client, numbered_webhook(2))
            stored = len(await alert_messages(nc))
        finally:
            await nc.close()
    assert full.status_code == 503
    assert int(full.headers["Retry-After"]) > 0
    assert "maximum messages" in full.json()["detail"]
    assert stored == 1


async def test_an_event_the_stream_can_never_store_is_413_not_retried(nats_server: NatsServer) -> None:
    """Over the stream's max_msg_size JetStream refuses for good: 413 naming why, not 503."""
    async with running_app(make_settings(nats_server.url)) as client:
        nc = await nats.connect(nats_server.url)
        try:
            await bounded_alert_stream(nc, max_msg_size=256)
            refused = await post_webhook(client, numbered_webhook(1))
        finally:
            await nc.close()
    assert refused.status_code == 413
    assert "max_alerts" in refused.json()["detail"]
