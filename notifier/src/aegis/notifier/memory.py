"""Writing and recalling incident memory (`aegis.shared.incidents`) from the notifier's flows.

The question flow notes what was asked when it acknowledges a question; the answer flow turns
the answer into an `IncidentRecord` and moves the pointers (alert, root cause, alert card). The
alert flow asks what was found last time for the same alert. Memory is a help, not a delivery:
a failed read or write is logged and the card or answer goes out without it.
"""

from datetime import UTC, datetime
from typing import TypeVar

import structlog
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ValidationError

from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.incidents import (
    MAX_EVIDENCE_LINES,
    IncidentRecord,
    RememberedCause,
    alert_key,
    analysis_key,
    asked_key,
    card_analysis_key,
    cause_key,
    recall_line,
)
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.settings import Locale

log = structlog.get_logger("aegis.notifier.memory")

M = TypeVar("M", bound=BaseModel)
_FAILURES = (NatsError, OSError, ValidationError, TimeoutError)


class IncidentMemory:
    """The `aegis_incidents` bucket as the notifier uses it."""

    def __init__(self, bucket: KeyValue, locale: Locale) -> None:
        self._bucket = bucket
        self._locale = locale

    async def asked(self, question: QuestionEvent) -> None:
        """Keep the question until its answer comes (the answer does not repeat it)."""
        await self._put(asked_key(question.request_id), question)

    async def answered(self, result: RcaResult) -> IncidentRecord | None:
        """Remember an answered analysis; returns the record (None for failed analyses)."""
        if result.failed or not result.root_causes:
            return None
        question = await self._get(asked_key(result.request_id), QuestionEvent)
        labels = question.alert_labels if question else {}
        target = result.reply_to or (question.reply_to if question else None)
        asker = question.asker if question else None
        record = IncidentRecord(
            request_id=result.request_id,
            question=(question.text if question else result.summary)[:500],
            services=question.services if question else [],
            alertname=labels.get("alertname"),
            alert_service=labels.get("service")
            or (question.services[0] if question and question.services else None),
            candidates=[
                RememberedCause(service=c.service, hypothesis=c.hypothesis[:300], confidence=c.confidence)
                for c in result.root_causes[:3]
            ],
            evidence=[f"{e.kind}: {e.excerpt[:280]}" for c in result.root_causes[:1] for e in c.evidence][
                :MAX_EVIDENCE_LINES
            ],
            summary=result.summary[:500],
            answered_at=datetime.now(UTC),
            asked_by=(asker.name or asker.open_id or asker.user_id) if asker else None,
            chat_id=target.chat_id if target else None,
            message_id=target.message_id if target else None,
        )
        keys = [analysis_key(record.request_id), cause_key(record.candidates[0].service)]
        if record.alertname and record.alert_service:
            keys.append(alert_key(record.alertname, record.alert_service))
        if record.message_id:
            keys.append(card_analysis_key(record.message_id))
        for key in keys:
            await self._put(key, record)
        return record

    async def recall_alert(self, event: AlertGroupEvent) -> str | None:
        """The "last time" line for a new card of this alert (same alertname and service)."""
        service = event.common_labels.get("service") or event.alerts[0].labels.get("service")
        if event.status != "firing" or not service:
            return None
        record = await self._get(alert_key(event.alertname, service), IncidentRecord)
        return recall_line(record, datetime.now(UTC), self._locale) if record else None

    async def recall_cause(self, result: RcaResult) -> str | None:
        """The "last time" line for an answer whose top candidate was the top one before."""
        if not result.root_causes:
            return None
        record = await self._get(cause_key(result.root_causes[0].service), IncidentRecord)
        if record is None or record.request_id == result.request_id:
            return None
        return recall_line(record, datetime.now(UTC), self._locale)

    async def of_card(self, message_id: str) -> IncidentRecord | None:
        """The latest analysis asked from an alert card, for its timeline."""
        return await self._get(card_analysis_key(message_id), IncidentRecord)

    async def _put(self, key: str, value: BaseModel) -> None:
        try:
            await self._bucket.put(key, value.model_dump_json().encode())
        except _FAILURES as error:
            log.warning("incident memory not written", key=key, error=f"{type(error).__name__}: {error}")

    async def _get(self, key: str, model: type[M]) -> M | None:
        try:
            entry = await self._bucket.get(key)
            return model.model_validate_json(entry.value) if entry.value else None
        except KeyNotFoundError:
            return None
        except _FAILURES as error:
            log.warning("incident memory not read", key=key, error=f"{type(error).__name__}: {error}")
            return None
