"""The "我来处理 / I'm on it" button: the first clicker takes the alert, later ones are told who has it.

The claim is a KV *create* in `aegis_claims` keyed by the card's message id, so of any number of
clicks (two people, two gateway replicas, a re-delivered callback) exactly one wins. The callback
is answered with a toast and, when the notifier's copy of the card is at hand, the card marked
with the claimer (Feishu replaces the card in place from the callback's `card`). Every answer
carries the marked card, so a lost callback answer is repaired by the next click. Nothing outside
Feishu changes.
"""

import json
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from aegis.gateway_feishu.events import CardActionTriggered
from aegis.shared.card_actions import ACTION_KEY, CHAT_ID_KEY
from aegis.shared.claims import (
    CLAIM,
    Card,
    Claim,
    card_key,
    claim_key,
    claimed_by_other,
    claimed_toast,
    with_claim,
)
from aegis.shared.messages import message
from aegis.shared.settings import Locale

log = structlog.get_logger("aegis.gateway_feishu.claims")


def is_claim_click(click: CardActionTriggered) -> bool:
    action = click.event.action
    return action is not None and action.value is not None and action.value.get(ACTION_KEY) == CLAIM


class ClaimDesk:
    """Answers claim clicks from the claims bucket and the notifier's stored cards."""

    def __init__(self, claims: KeyValue, cards: KeyValue, locale: Locale) -> None:
        self._claims = claims
        self._cards = cards
        self._locale = locale

    async def answer(self, click: CardActionTriggered) -> dict[str, Any]:
        """The callback's answer: toast (+ the card showing the claimer)."""
        context = click.event.context
        operator = click.event.operator
        message_id = context.open_message_id if context else None
        open_id = operator.open_id if operator else None
        if not message_id or not open_id:
            return _toast("error", message(self._locale, "claim.missing"))
        value = (click.event.action.value if click.event.action else None) or {}
        chat_id = (context.open_chat_id if context else None) or str(value.get(CHAT_ID_KEY) or "") or None
        mine = Claim(open_id=open_id, claimed_at=click.clicked_at or datetime.now(UTC), chat_id=chat_id)
        try:
            holder, first = await self._take(message_id, mine)
            card = await self._card(message_id)
        except NatsError as error:
            log.warning("claim not recorded", message_id=message_id, error=str(error))
            return _toast("error", message(self._locale, "claim.unrecorded"))
        if first:
            log.info("alert claimed", message_id=message_id, open_id=open_id)
            text = claimed_toast(self._locale)
        elif holder.open_id == open_id:
            text = claimed_toast(self._locale)
        else:
            text = claimed_by_other(holder, self._locale)
        answer = _toast("success" if holder.open_id == open_id else "info", text)
        if card is not None:
            answer["card"] = {"type": "raw", "data": with_claim(card, holder, self._locale)}
        return answer

    async def _take(self, message_id: str, mine: Claim) -> tuple[Claim, bool]:
        key = claim_key(message_id)
        try:
            await self._claims.create(key, mine.model_dump_json().encode())
        except KeyWrongLastSequenceError:
            entry = await self._claims.get(key)
            return Claim.model_validate_json(entry.value or b"{}"), False
        return mine, True

    async def _card(self, message_id: str) -> Card | None:
        try:
            entry = await self._cards.get(card_key(message_id))
        except KeyNotFoundError:
            return None
        try:
            card = json.loads(entry.value or b"null")
        except ValueError:
            return None
        return card if isinstance(card, dict) else None


def _toast(kind: str, content: str) -> dict[str, Any]:
    return {"toast": {"type": kind, "content": content}}
