"""The shared contracts: normalisation, dedup ids, settings errors, dead-letter headers."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aegis.shared.alerts import AlertmanagerWebhook, alert_event_id, normalise
from aegis.shared.questions import QuestionEvent, TimeWindow
from aegis.shared.settings import AegisSettings, ConfigError, load_settings
from tests.harness.alerts import webhook_payload


def test_normalise_marks_unended_alerts_and_keeps_labels() -> None:
    """Go's zero endsAt becomes None; labels, annotations and fingerprint survive."""
    event = normalise(AlertmanagerWebhook.model_validate(webhook_payload()), datetime.now(UTC))
    [alert] = event.alerts
    assert alert.ends_at is None
    assert alert.labels["service"] == "payment"
    assert alert.fingerprint
    assert event.alertname == "PaymentHighErrorRate"
    assert event.severity == "critical"


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
