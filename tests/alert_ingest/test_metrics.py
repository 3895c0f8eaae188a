"""/metrics counts what the webhook did, in the process's one registry."""

import httpx
from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.alert_ingest.conftest import SettingsFactory, post_webhook, running_app
from tests.alert_ingest.payloads import alert, webhook


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_metrics_count_alerts_rejections_duplicates_and_publish_time(
    ingest: httpx.AsyncClient, nats_client: Client
) -> None:
    """Accepted alerts by status, rejections by reason, duplicates and publish latency are exposed."""
    before = await scrape(ingest)
    two_alerts = webhook(alert(fingerprint="a" * 16), alert(status="resolved", fingerprint="b" * 16))
    await post_webhook(ingest, two_alerts)
    await post_webhook(ingest, two_alerts)
    await post_webhook(ingest, b"{")
    await post_webhook(ingest, {"version": "4"})

    after = await scrape(ingest)
    samples = {key: value - before.get(key, 0.0) for key, value in after.items()}

    assert samples[("aegis_alerts_received_total", (("status", "firing"),))] == 2
    assert samples[("aegis_alerts_received_total", (("status", "resolved"),))] == 2
    assert samples[("aegis_webhook_duplicates_total", ())] == 1
    assert samples[("aegis_webhook_rejected_total", (("reason", "malformed_json"),))] == 1
    assert samples[("aegis_webhook_rejected_total", (("reason", "invalid_payload"),))] == 1
    assert samples[("aegis_webhook_rejected_total", (("reason", "nats_unavailable"),))] == 0
    assert samples[("aegis_publish_seconds_count", ())] == 2
    assert samples[("aegis_publish_seconds_sum", ())] > 0


async def test_one_registry_per_process_serves_service_and_process_series(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """Two apps in one process count into one registry, served with the process collectors."""
    async with running_app(ingest_settings()) as first, running_app(ingest_settings()) as second:
        before = await scrape(second)
        await post_webhook(first, webhook())

        after = await scrape(second)

    firing = ("aegis_alerts_received_total", (("status", "firing"),))
    assert after[firing] - before[firing] == 1
    assert ("process_resident_memory_bytes", ()) in after
