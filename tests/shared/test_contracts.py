"""The shared contracts: normalisation, dedup ids, settings errors, dead-letter headers."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.js.api import DiscardPolicy
from pydantic import ValidationError

from aegis.devkit.harness.alerts import webhook_payload
from aegis.shared.alerts import (
    Alert,
    AlertGroupEvent,
    AlertmanagerWebhook,
    alert_event_id,
    event_json,
    normalise,
)
from aegis.shared.dead_letters import republishable
from aegis.shared.questions import QuestionEvent, TimeWindow
from aegis.shared.rca import RcaResult
from aegis.shared.settings import AegisSettings, ConfigError, load_settings
from aegis.shared.streams import Topology, fill_ratio, stream_configs


def test_normalise_marks_unended_alerts_and_keeps_labels() -> None:
    """Go's zero endsAt becomes None; labels, annotations and fingerprint survive."""
    event = normalise(AlertmanagerWebhook.model_validate(webhook_payload()), datetime.now(UTC))
    [alert] = event.alerts
    assert alert.ends_at is None
    assert alert.labels["service"] == "payment"
    assert alert.fingerprint
    assert event.alertname == "PaymentHighErrorRate"
    assert event.severity == "critical"


def test_the_published_json_is_an_alert_group_event_field_for_field() -> None:
    """`event_json` writes exactly the event's fields, normalised, under the id `alert_event_id` gives."""
    payload = webhook_payload(alerts=2)
    del payload["alerts"][1]["fingerprint"]
    webhook = AlertmanagerWebhook.model_validate(payload)
    event_id, data = event_json(webhook, datetime(2026, 11, 24, 18, 0))
    document = json.loads(data)
    assert set(document) == set(AlertGroupEvent.model_fields)
    assert all(set(alert) == set(Alert.model_fields) for alert in document["alerts"])
    event = AlertGroupEvent.model_validate(document)
    assert event.event_id == event_id == alert_event_id(webhook)
    assert event.received_at == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert [alert.ends_at for alert in event.alerts] == [None, None]  # Go's zero time: still firing
    assert event.alerts[1].fingerprint  # filled in from the labels
    assert event.group_key == payload["groupKey"]
    assert event.external_url == payload["externalURL"]


def test_dedup_id_changes_with_content_not_with_receipt_time() -> None:
    """Same notification → same id whenever received; a status or alert change → a new id."""
    webhook = AlertmanagerWebhook.model_validate(webhook_payload())
    first = normalise(webhook, datetime(2026, 1, 1, tzinfo=UTC))
    again = normalise(webhook, datetime(2026, 6, 1, tzinfo=UTC))
    assert first.event_id == again.event_id
    resolved = AlertmanagerWebhook.model_validate(webhook_payload(status="resolved"))
    bigger = AlertmanagerWebhook.model_validate(webhook_payload(alerts=2))
    assert len({alert_event_id(webhook), alert_event_id(resolved), alert_event_id(bigger)}) == 3


@given(st.permutations(range(5)))
def test_dedup_id_ignores_alert_order(order: list[int]) -> None:
    """Alertmanager may list a group's alerts in any order: the id is the same."""
    payload = webhook_payload(alerts=5)
    shuffled = {**payload, "alerts": [payload["alerts"][i] for i in order]}
    assert alert_event_id(AlertmanagerWebhook.model_validate(shuffled)) == alert_event_id(
        AlertmanagerWebhook.model_validate(payload)
    )


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed variable stops start-up with a sentence naming it and the bad value."""
    monkeypatch.setenv("AEGIS_STREAM_REPLICAS", "three")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as raised:
        load_settings(AegisSettings)
    message = str(raised.value)
    assert "AEGIS_STREAM_REPLICAS" in message
    assert "'three'" in message
    assert "LOG_LEVEL" in message


def test_question_window_must_be_ordered() -> None:
    """A window whose start is not before its end is refused."""
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="before its end"):
        TimeWindow(start=now, end=now)
    question = QuestionEvent(request_id="r1", source="api", text="payment 5xx?")
    assert question.window.end > question.window.start


def test_every_time_is_utc_aware_whatever_zone_the_sender_wrote() -> None:
    """ "…Z", zone-less and +08:00 times in one webhook all come out UTC-aware, hence comparable."""
    payload = webhook_payload(alerts=3)
    payload["alerts"][0]["startsAt"] = "2026-11-24T09:45:00Z"
    payload["alerts"][1]["startsAt"] = "2026-11-24T09:40:00"
    payload["alerts"][2]["startsAt"] = "2026-11-24T17:50:00+08:00"
    event = normalise(AlertmanagerWebhook.model_validate(payload), datetime(2026, 11, 24, 10, 0))
    starts = [alert.starts_at for alert in event.alerts]
    assert all(moment.tzinfo is UTC for moment in [*starts, event.received_at])
    assert min(starts) == datetime(2026, 11, 24, 9, 40, tzinfo=UTC)
    assert starts[2] == datetime(2026, 11, 24, 9, 50, tzinfo=UTC)


def test_a_time_that_overflows_when_converted_is_a_validation_error() -> None:
    """Year 1 with a positive offset cannot be UTC: a field error, not an OverflowError."""
    payload = webhook_payload()
    payload["alerts"][0]["startsAt"] = "0001-01-01T00:00:00+08:00"
    with pytest.raises(ValidationError, match="startsAt"):
        AlertmanagerWebhook.model_validate(payload)


def test_windows_ids_and_names_are_bounded() -> None:
    """A 57-year window, a request id with spaces or 65 characters, a 1 kB service name: refused."""
    now = datetime.now(UTC)
    with pytest.raises(ValidationError, match="longer than 31 days"):
        TimeWindow(start=datetime(1970, 1, 1, tzinfo=UTC), end=now)
    for request_id in ("q with spaces", "q" * 65, "q\nx"):
        with pytest.raises(ValidationError, match="request_id"):
            RcaResult(request_id=request_id, source="feishu", summary="s")
    with pytest.raises(ValidationError, match="services"):
        QuestionEvent(request_id="q1", source="api", text="t", services=["x" * 1000])
    event = normalise(AlertmanagerWebhook.model_validate(webhook_payload()), datetime.now(UTC))
    with pytest.raises(ValidationError, match="event_id"):  # found by the fuzzing: it is a KV key
        AlertGroupEvent.model_validate({**event.model_dump(), "event_id": "aÉ\U000d92d4\x80"})


def test_a_dead_letter_keeps_no_jetstream_publish_condition() -> None:
    """Nats-Expected-Stream and the other Nats-* headers are dropped; the rest is kept as sent."""
    kept = republishable(
        {
            "Nats-Expected-Stream": "AEGIS_RCA",
            "Nats-Expected-Last-Sequence": "4",
            "nats-msg-id": "result-q1",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        }
    )
    assert kept == {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


def test_every_stream_is_bounded_refuses_new_when_full_and_fits_the_charts_store() -> None:
    """max_bytes and max_msgs on each stream, DiscardPolicy.NEW (nothing accepted is dropped), and
    the sum within the chart's 8 GiB JetStream store; the fill ratio is the tighter of the two."""
    configs = stream_configs(Topology())
    assert all(c.max_bytes and c.max_bytes > 0 and c.max_msgs and c.max_msgs > 0 for c in configs)
    assert {c.discard for c in configs} == {DiscardPolicy.NEW}
    assert sum(c.max_bytes or 0 for c in configs) <= 6 * 1024**3
    alerts = configs[0]
    assert fill_ratio((alerts.max_bytes or 0) // 2, 10, alerts) == 0.5
