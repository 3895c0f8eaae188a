"""A valid webhook ends as exactly one JetStream message, acknowledged before the 200."""

import httpx
from nats.aio.client import Client

from aegis.shared.alerts import AlertGroupEvent
from tests.alert_ingest.conftest import alert_messages, post_webhook
from tests.alert_ingest.payloads import GO_ZERO_TIME, alert, webhook


async def test_valid_webhook_is_published_once_on_the_firing_subject(
    ingest: httpx.AsyncClient, nats_client: Client
) -> None:
    """Firing notification → 200 with its event id; one aegis.alert.firing message with that Nats-Msg-Id."""
    response = await post_webhook(ingest, webhook())

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted"
    assert body["duplicate"] is False
    assert body["alerts"] == 1
    messages = await alert_messages(nats_client)
    assert len(messages) == 1
    assert messages[0].subject == "aegis.alert.firing"
    assert messages[0].headers is not None
    assert messages[0].headers["Nats-Msg-Id"] == body["event_id"]
    event = AlertGroupEvent.model_validate_json(messages[0].data or b"")
    assert event.event_id == body["event_id"]
    assert event.alertname == "PaymentHighErrorRate"
    assert event.alerts[0].labels["service"] == "payment"
    assert event.alerts[0].ends_at is None  # Go's zero time means "still firing"


async def test_resolved_webhook_goes_to_the_resolved_subject(
    ingest: httpx.AsyncClient, nats_client: Client
) -> None:
    """A resolved notification is published on aegis.alert.resolved with its end time."""
    resolved = alert(status="resolved", ends_at="2026-11-24T10:07:40Z")

    response = await post_webhook(ingest, webhook(resolved, status="resolved"))

    assert response.status_code == 200
    [message] = await alert_messages(nats_client)
    assert message.subject == "aegis.alert.resolved"
    event = AlertGroupEvent.model_validate_json(message.data or b"")
    assert event.status == "resolved"
    assert event.alerts[0].ends_at is not None


async def test_same_body_twice_is_one_message(ingest: httpx.AsyncClient, nats_client: Client) -> None:
    """Alertmanager's retry (identical body) → 200 twice, the second `duplicate: true`; one stream message."""
    first = await post_webhook(ingest, webhook())
    second = await post_webhook(ingest, webhook())

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert second.json()["event_id"] == first.json()["event_id"]
    assert len(await alert_messages(nats_client)) == 1


async def test_a_change_in_the_group_is_a_new_message(ingest: httpx.AsyncClient, nats_client: Client) -> None:
    """The same group with one more alert is a new notification, not a duplicate."""
    one = webhook(alert(fingerprint="aaaaaaaaaaaaaaaa"))
    two = webhook(
        alert(fingerprint="aaaaaaaaaaaaaaaa"), alert(fingerprint="bbbbbbbbbbbbbbbb", service="cart")
    )

    first = await post_webhook(ingest, one)
    second = await post_webhook(ingest, two)

    assert second.json()["duplicate"] is False
    assert second.json()["event_id"] != first.json()["event_id"]
    assert second.json()["alerts"] == 2
    assert len(await alert_messages(nats_client)) == 2


async def test_missing_content_type_is_accepted(ingest: httpx.AsyncClient, nats_client: Client) -> None:
    """A JSON body without a Content-Type header is still taken (only a non-JSON type is refused)."""
    response = await post_webhook(ingest, webhook(), headers={})

    assert response.status_code == 200
    assert len(await alert_messages(nats_client)) == 1


async def test_go_zero_end_time_and_real_end_time_are_distinct_events(ingest: httpx.AsyncClient) -> None:
    """An alert that ended is a different event from the same alert firing."""
    firing = await post_webhook(ingest, webhook(alert(ends_at=GO_ZERO_TIME)))
    ended = await post_webhook(
        ingest, webhook(alert(status="resolved", ends_at="2026-11-24T10:00:00Z"), status="resolved")
    )

    assert firing.json()["event_id"] != ended.json()["event_id"]
