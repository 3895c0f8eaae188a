"""The claim button on alert cards, and the notifier's side of claims (`aegis.shared.claims`).

The notifier keeps every alert card it sends or patches under its message id, so gateway-feishu
can answer a claim click with that card marked; it reads the claim back when it patches the card
on resolve (the mark stays) and when it writes the timeline. It never writes a claim.
"""

import structlog
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from aegis.notifier.cards import Card, card_json
from aegis.shared.claims import Claim, card_key, claim_key, with_claim
from aegis.shared.settings import Locale

log = structlog.get_logger("aegis.notifier.claims")


def runbook_key(message_id: str) -> str:
    return f"runbook.{message_id}"


class CardKeeper:
    """Alert cards by message id (in `aegis_messages`) and their claims (read from `aegis_claims`)."""

    def __init__(self, cards: KeyValue, claims: KeyValue | None, locale: Locale) -> None:
        self._cards = cards
        self._claims = claims
        self._locale = locale

    async def keep(self, message_id: str, card: Card, runbook: str | None) -> None:
        await self._cards.put(card_key(message_id), card_json(card).encode())
        if runbook:
            await self._cards.put(runbook_key(message_id), runbook.encode())

    async def runbook(self, message_id: str) -> str | None:
        try:
            entry = await self._cards.get(runbook_key(message_id))
        except KeyNotFoundError:
            return None
        except (NatsError, OSError) as error:  # the answer goes out without it
            log.warning("runbook not readable", message_id=message_id, error=str(error))
            return None
        return entry.value.decode() if entry.value else None

    async def claim(self, message_id: str) -> Claim | None:
        if self._claims is None:
            return None
        try:
            entry = await self._claims.get(claim_key(message_id))
            return Claim.model_validate_json(entry.value) if entry.value else None
        except KeyNotFoundError:
            return None
        except (NatsError, ValidationError, OSError) as error:
            log.warning("claim not readable", message_id=message_id, error=str(error))
            return None

    async def keeping_claim(self, card: Card, message_id: str) -> Card:
        """`card` (a patch of `message_id`) still showing who claimed it."""
        claim = await self.claim(message_id)
        return with_claim(card, claim, self._locale) if claim else card
