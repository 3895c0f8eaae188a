"""Feishu events as the open platform sends them (schema 2.0), for the gateway's tests and bench."""

import itertools
import json
import time
from typing import Any

BOT_OPEN_ID = "ou_aegis_bot"
ASKER_OPEN_ID = "ou_oncall_li"
GROUP_CHAT = "oc_oncall"

_ids = itertools.count(1)


def next_event_id() -> str:
    return f"ev{time.monotonic_ns():x}{next(_ids):06d}"


def _header(event_type: str, event_id: str, create_time_ms: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "create_time": str(create_time_ms),
        "token": "v_token",
        "app_id": "cli_test",
        "tenant_key": "tenant_1",
    }


def mention(key: str = "@_user_1", open_id: str = BOT_OPEN_ID, name: str = "Aegis") -> dict[str, Any]:
    return {
        "key": key,
        "id": {"open_id": open_id, "user_id": None, "union_id": "on_x"},
        "name": name,
        "tenant_key": "tenant_1",
    }


def message_event(
    text: str = "@_user_1 payment 5xx 变多了，过去30分钟怎么回事？",
    *,
    event_id: str | None = None,
    chat_id: str = GROUP_CHAT,
    chat_type: str = "group",
    message_id: str | None = None,
    mentions: list[dict[str, Any]] | None = None,
    message_type: str = "text",
    content: dict[str, Any] | None = None,
    root_id: str | None = None,
    thread_id: str | None = None,
    create_time_ms: int | None = None,
    sender_type: str = "user",
) -> dict[str, Any]:
    """`im.message.receive_v1`; by default an @Aegis question in a group."""
    event_id = event_id or next_event_id()
    created = create_time_ms if create_time_ms is not None else int(time.time() * 1000)
    message: dict[str, Any] = {
        "message_id": message_id or f"om_{event_id}",
        "root_id": root_id,
        "parent_id": root_id,
        "create_time": str(created),
        "update_time": str(created),
        "chat_id": chat_id,
        "thread_id": thread_id,
        "chat_type": chat_type,
        "message_type": message_type,
        "content": json.dumps(content if content is not None else {"text": text}, ensure_ascii=False),
        "mentions": [mention()] if mentions is None else mentions,
        "user_agent": "Mozilla/5.0",
    }
    return {
        "schema": "2.0",
        "header": _header("im.message.receive_v1", event_id, created),
        "event": {
            "sender": {
                "sender_id": {"union_id": "on_li", "user_id": "li", "open_id": ASKER_OPEN_ID},
                "sender_type": sender_type,
                "tenant_key": "tenant_1",
            },
            "message": message,
        },
    }


def post_content(*paragraphs: list[dict[str, Any]], title: str = "") -> dict[str, Any]:
    return {"title": title, "content": list(paragraphs)}


def card_click_event(
    labels: dict[str, str],
    starts_at: str,
    *,
    event_id: str | None = None,
    chat_id: str = GROUP_CHAT,
    card_message_id: str = "om_alert_card",
    action: str = "analyse",
    create_time_ms: int | None = None,
) -> dict[str, Any]:
    """`card.action.trigger` for the notifier's "Analyse" button (its value: `aegis.shared.card_actions`)."""
    event_id = event_id or next_event_id()
    created = create_time_ms if create_time_ms is not None else int(time.time() * 1000)
    return {
        "schema": "2.0",
        "header": _header("card.action.trigger", event_id, created * 1000),  # microseconds, as Feishu sends
        "event": {
            "operator": {
                "tenant_key": "tenant_1",
                "user_id": "li",
                "open_id": ASKER_OPEN_ID,
                "union_id": "on_li",
            },
            "token": "c-card-token",
            "action": {
                "value": {
                    "aegis_action": action,
                    "labels": labels,
                    "starts_at": starts_at,
                    "event_id": "alert-event-1",
                    "chat_id": chat_id,
                },
                "tag": "button",
            },
            "host": "im_message",
            "delivery_type": "url_preview",
            "context": {"open_message_id": card_message_id, "open_chat_id": chat_id},
        },
    }
