"""The notifier's "Analyse" button and the gateway's reading of its click agree."""

from datetime import timedelta
from typing import Any

from aegis.devkit.fakes.feishu_events import card_click_event
from aegis.devkit.harness.alerts import alert_event
from aegis.gateway_feishu.card_clicks import question_from_card_click
from aegis.gateway_feishu.events import CardActionTriggered
from aegis.notifier.cards import CardOptions, render_alert_card
from aegis.shared.questions import QuestionEvent


def test_click_on_a_rendered_alert_card_asks_about_that_alert() -> None:
    """The value the notifier renders becomes a question scoped to the alert's labels and start."""
    event = alert_event()
    card = render_alert_card(event, CardOptions(chat_id="oc_oncall"))
    actions = [element for element in card["elements"] if element["tag"] == "action"]
    buttons = [button for element in actions for button in element["actions"]]
    [value] = [b["value"] for b in buttons if "value" in b and b["value"]["aegis_action"] == "analyse"]
    clicked_at = event.alerts[0].starts_at + timedelta(minutes=30)
    payload: dict[str, Any] = card_click_event(
        labels={}, starts_at="", chat_id="oc_oncall", create_time_ms=int(clicked_at.timestamp() * 1000)
    )
    payload["event"]["action"]["value"] = value
    question = question_from_card_click(CardActionTriggered.model_validate(payload), "zh")
    assert isinstance(question, QuestionEvent), question
    assert question.alert_labels["alertname"] == "PaymentHighErrorRate"
    assert question.services == ["payment"]
    assert question.window.start == event.alerts[0].starts_at - timedelta(minutes=15)
    assert question.window.end == clicked_at
    assert question.reply_to is not None
    assert question.reply_to.chat_id == "oc_oncall"
