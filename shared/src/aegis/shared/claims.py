"""Claiming an alert from the chat ("我来处理 / I'm on it"): the contract between notifier and gateway.

The notifier puts a claim button on each firing alert card and keeps the card it sent under
`card_key(message_id)` in `aegis_messages`. A click reaches gateway-feishu, which records the
first claimer with a KV *create* in `aegis_claims` (atomic: exactly one click wins) and answers
Feishu's callback with that card marked as claimed; later clickers are told who has it. The
notifier keeps the mark when it patches the card on resolve, and the timeline names the claimer.
Nothing outside Feishu changes. Pure, apart from the key names and the model.
"""

import copy
from typing import Any

from pydantic import BaseModel

from aegis.shared.bounds import ShortText, UtcDatetime
from aegis.shared.card_actions import ACTION_KEY, CHAT_ID_KEY
from aegis.shared.messages import message
from aegis.shared.settings import Locale

CLAIM = "claim"
CLAIM_ICON = "🙋"  # how the claim line begins, so a card is marked once

Card = dict[str, Any]


class Claim(BaseModel):
    """Who took an alert card, and when."""

    open_id: ShortText
    claimed_at: UtcDatetime
    chat_id: ShortText | None = None


def claim_button(chat_id: str | None, locale: Locale) -> Card:
    """The button on a firing alert card whose click gateway-feishu answers with the claimed card."""
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": message(locale, "claim.button")},
        "type": "default",
        "value": {ACTION_KEY: CLAIM, CHAT_ID_KEY: chat_id or ""},
    }


def card_key(message_id: str) -> str:
    """Where the notifier keeps the card it last sent or patched as `message_id` (aegis_messages)."""
    return f"card.{message_id}"


def claim_key(message_id: str) -> str:
    """Where the claim of the card `message_id` lives (aegis_claims)."""
    return f"claim.{message_id}"


def claim_line(claim: Claim, locale: Locale) -> str:
    """The line a claimed card shows: who (mentioned, so Feishu shows the name) and when."""
    when = f"{claim.claimed_at:%Y-%m-%d %H:%M} UTC"
    return message(locale, "claim.line", icon=CLAIM_ICON, open_id=claim.open_id, when=when)


def with_claim(card: Card, claim: Claim, locale: Locale) -> Card:
    """`card` showing `claim` right under its body, its claim button gone (idempotent)."""
    marked = copy.deepcopy(card)
    elements: list[Card] = [e for e in marked.get("elements", []) if not _is_claim_line(e)]
    for element in elements:
        if element.get("tag") == "action":
            element["actions"] = [
                a for a in element.get("actions", []) if (a.get("value") or {}).get(ACTION_KEY) != CLAIM
            ]
    elements = [e for e in elements if e.get("tag") != "action" or e.get("actions")]
    line = {"tag": "div", "text": {"tag": "lark_md", "content": claim_line(claim, locale)}}
    marked["elements"] = [*elements[:1], line, *elements[1:]]
    return marked


def claimed_by_other(claim: Claim, locale: Locale) -> str:
    """The toast for a later clicker: the card above shows who has it."""
    return message(locale, "claim.by_other", when=f"{claim.claimed_at:%H:%M} UTC")


def claimed_toast(locale: Locale) -> str:
    """The toast for the claimer: the card now shows the claim."""
    return message(locale, "claim.yours")


def _is_claim_line(element: Card) -> bool:
    text = element.get("text")
    return isinstance(text, dict) and str(text.get("content", "")).startswith(CLAIM_ICON + " <at id=")
