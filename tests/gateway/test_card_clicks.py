"""The "Analyse" button on an alert card becomes a question scoped to that alert."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from nats.aio.client import Client

from aegis.devkit.fakes.feishu_events import ASKER_OPEN_ID, GROUP_CHAT, card_click_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.gateway_feishu.card_clicks import alert_window, question_from_card_click
from aegis.gateway_feishu.decisions import Ignored
from aegis.gateway_feishu.events import CardActionTriggered
from aegis.shared.questions import QuestionEvent
from tests.gateway.conftest import published_questions, wait_for_questions

LABELS = {"alertname": "PaymentErrors", "service": "payment", "severity": "critical", "namespace": "shop"}
CLICK = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def test_click_on_the_long_connection_publishes_a_scoped_question(
    gateway: httpx.AsyncClient, feishu_ws: FakeLongConnection, nats_client: Client
) -> None:
    """A click is acked with a toast and becomes a question with the alert's labels, service and time."""
    starts_at = datetime.now(UTC) - timedelta(hours=1)
    event = card_click_event(LABELS, starts_at.isoformat(), card_message_id="om_card_1")
    ack = await feishu_ws.send_event(event)
    assert ack.code == 200
    assert ack.data is not None
    assert ack.data["toast"]["type"] == "info"
    [question] = await wait_for_questions(nats_client, 1)
    assert question.text == "分析告警 PaymentErrors"
    assert question.alert_labels == LABELS
    assert question.services == ["payment"]
    assert question.window.start == starts_at - timedelta(minutes=15)
    assert question.window_chosen  # the alert chose it: no follow-up memory replaces it
    assert question.reply_to is not None
    assert (question.reply_to.chat_id, question.reply_to.message_id) == (GROUP_CHAT, "om_card_1")
    assert question.asker is not None
    assert question.asker.open_id == ASKER_OPEN_ID
    assert (await feishu_ws.send_event(event)).code == 200  # re-delivered: still one question
    assert len(await published_questions(nats_client)) == 1


@pytest.mark.parametrize(
    ("starts_at", "expected_start"),
    [
        (CLICK - timedelta(hours=1), CLICK - timedelta(hours=1, minutes=15)),
        (CLICK - timedelta(hours=10), CLICK - timedelta(hours=6)),
        (CLICK + timedelta(minutes=5), CLICK - timedelta(minutes=15)),
        (None, CLICK - timedelta(minutes=15)),
    ],
    ids=["15-min-lead", "capped-at-6h", "clock-skew", "no-start"],
)
def test_alert_window(starts_at: datetime | None, expected_start: datetime) -> None:
    """The window runs from 15 minutes before the alert began to the click, at most 6 hours."""
    window = alert_window(starts_at, CLICK)
    assert (window.start, window.end) == (expected_start, CLICK)


def test_english_text_and_click_time_from_microsecond_header() -> None:
    """The text follows the locale; the click time comes from the header's microsecond stamp."""
    event = card_click_event(LABELS, "2026-11-24T09:30:00Z", create_time_ms=int(CLICK.timestamp() * 1000))
    question = question_from_card_click(CardActionTriggered.model_validate(event), "en")
    assert isinstance(question, QuestionEvent)
    assert question.text == "analyse alert PaymentErrors"
    assert (question.window.start, question.window.end) == (datetime(2026, 11, 24, 9, 15, tzinfo=UTC), CLICK)
    assert question.conversation_key == f"{GROUP_CHAT}:om_alert_card"


def test_buttons_that_are_not_aegis_analyse_are_ignored() -> None:
    """Another app's button (or another Aegis action) asks nothing."""
    event = card_click_event(LABELS, "2026-11-24T09:30:00Z", action="silence")
    decision = question_from_card_click(CardActionTriggered.model_validate(event), "zh")
    assert decision == Ignored("not_an_aegis_action", GROUP_CHAT)
