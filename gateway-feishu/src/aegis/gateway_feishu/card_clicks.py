"""The "Analyse" button on the notifier's alert cards: a click becomes a question about that alert.

The button's `value` is a contract with the notifier (it renders the card, this module reads the
click); its key names live in `aegis.shared.card_actions`. The question is scoped to the alert: its labels,
its `service` label, and a window from 15 minutes before it started until the click, capped at
6 hours so an alert firing for days does not become an analysis of days. The chat is the one
Feishu names in the click's context, never the one the button's value claims: a click whose value
names another chat is forged, and chats outside FEISHU_ALLOWED_CHAT_IDS start nothing, as for
messages. `click_key` names one card and one asker, so a double click starts one analysis.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aegis.gateway_feishu.decisions import Ignored, request_id_for
from aegis.gateway_feishu.events import CardActionTriggered
from aegis.shared.card_actions import ACTION_KEY, ANALYSE, CHAT_ID_KEY, LABELS_KEY, STARTS_AT_KEY
from aegis.shared.messages import message
from aegis.shared.questions import DEFAULT_WINDOW, Asker, QuestionEvent, ReplyTo, TimeWindow
from aegis.shared.settings import Locale

LEAD_TIME = timedelta(minutes=15)
MAX_ALERT_WINDOW = timedelta(hours=6)


def is_analyse_click(click: CardActionTriggered) -> bool:
    action = click.event.action
    return action is not None and action.value is not None and action.value.get(ACTION_KEY) == ANALYSE


def question_from_card_click(
    click: CardActionTriggered,
    locale: Locale,
    arrived_at: datetime | None = None,
    allowed_chat_ids: frozenset[str] | None = None,
) -> QuestionEvent | Ignored:
    """The question an "Analyse" click asks, or why it asks none."""
    context = click.event.context
    action = click.event.action
    value: dict[str, Any] = (action.value or {}) if action is not None else {}
    chat_id = context.open_chat_id if context else None
    if not is_analyse_click(click) or not chat_id:
        return Ignored("not_an_aegis_action", chat_id)
    claimed = _text(value.get(CHAT_ID_KEY))
    if claimed is not None and claimed != chat_id:
        return Ignored("forged_click", chat_id)
    if allowed_chat_ids is not None and chat_id not in allowed_chat_ids:
        return Ignored("chat_not_allowed", chat_id)
    raw_labels = value.get(LABELS_KEY)
    labels = {str(k): str(v) for k, v in raw_labels.items()} if isinstance(raw_labels, dict) else {}
    alertname = labels.get("alertname", "?")
    clicked_at = click.clicked_at or arrived_at or datetime.now(UTC)
    message_id = context.open_message_id if context else None
    operator = click.event.operator
    return QuestionEvent(
        request_id=request_id_for(click.header.event_id),
        source="feishu",
        text=message(locale, "card_click.question", alertname=alertname),
        services=[labels["service"]] if labels.get("service") else [],
        window=alert_window(_instant(value.get(STARTS_AT_KEY)), clicked_at),
        window_chosen=True,
        reply_to=ReplyTo(chat_id=chat_id, message_id=message_id),
        asker=Asker(open_id=operator.open_id, user_id=operator.user_id) if operator else None,
        conversation_key=f"{chat_id}:{message_id or click.header.event_id}",
        alert_labels=labels,
        created_at=clicked_at,
    )


def click_key(click: CardActionTriggered) -> str:
    """One card and one asker: the key under which only one analysis starts within a window."""
    context = click.event.context
    operator = click.event.operator
    card = (context.open_message_id if context else None) or click.header.event_id
    asker = (operator.open_id or operator.user_id if operator else None) or "-"
    return "click-" + hashlib.sha256(f"{card}|{asker}".encode()).hexdigest()[:40]


def alert_window(starts_at: datetime | None, clicked_at: datetime) -> TimeWindow:
    """From 15 minutes before the alert began until the click, at most 6 hours long."""
    if starts_at is None or starts_at >= clicked_at:
        return TimeWindow.last(DEFAULT_WINDOW, clicked_at)
    return TimeWindow(start=max(starts_at - LEAD_TIME, clicked_at - MAX_ALERT_WINDOW), end=clicked_at)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def click_toast(outcome: Literal["accepted", "failed"], locale: Locale) -> dict[str, Any]:
    """The callback's answer: a toast the clicker sees at once (the analysis replies in the chat)."""
    if outcome == "accepted":
        return {"toast": {"type": "info", "content": message(locale, "card_click.accepted")}}
    return {"toast": {"type": "error", "content": message(locale, "card_click.refused")}}
