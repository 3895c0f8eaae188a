"""Incident memory: what each answered analysis found, kept in NATS so the next alert remembers it.

The notifier writes one `IncidentRecord` per answered analysis into the KV bucket
`aegis_incidents` (bounded in bytes, entries expire after `INCIDENT_MEMORY_DAYS`, 30 by default),
plus pointers to the latest record for an alert (alertname + service), for a root-cause service
and for an alert card. A new alert card for the same alert, and an answer whose top candidate
matches a past one, show "上次：… 根因 payment（2 天前）" with a link to that thread; `aegis history`
lists and shows the records. Shared because the notifier writes what the CLI reads.
"""

import hashlib
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field

from aegis.shared.messages import message
from aegis.shared.settings import Locale

INCIDENTS_PREFIX = "analysis."
MAX_EVIDENCE_LINES = 5


class RememberedCause(BaseModel):
    """One ranked candidate as it was answered."""

    service: str
    hypothesis: str
    confidence: float


class IncidentRecord(BaseModel):
    """One answered analysis: the question, its scope, the top candidates, key evidence, who and when."""

    request_id: str
    question: str
    services: list[str] = Field(default_factory=list)
    alertname: str | None = None
    alert_service: str | None = None
    candidates: Annotated[list[RememberedCause], Field(max_length=3)] = Field(default_factory=list)
    evidence: Annotated[list[str], Field(max_length=MAX_EVIDENCE_LINES)] = Field(default_factory=list)
    summary: str = ""
    answered_at: datetime
    asked_by: str | None = None
    chat_id: str | None = None
    message_id: str | None = None

    @property
    def top(self) -> RememberedCause | None:
        return self.candidates[0] if self.candidates else None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def analysis_key(request_id: str) -> str:
    return f"{INCIDENTS_PREFIX}{_digest(request_id)}"


def alert_key(alertname: str, service: str) -> str:
    """The latest analysis of an alert (same alertname and service)."""
    return f"alert.{_digest(alertname, service)}"


def cause_key(service: str) -> str:
    """The latest analysis whose top candidate was `service`."""
    return f"cause.{_digest(service)}"


def card_analysis_key(message_id: str) -> str:
    """The latest analysis asked from the alert card `message_id` (for its timeline)."""
    return f"card.{_digest(message_id)}"


def asked_key(request_id: str) -> str:
    """The question as the notifier acknowledged it, until its answer arrives."""
    return f"asked.{_digest(request_id)}"


def thread_link(chat_id: str | None) -> str | None:
    """A link that opens the chat the analysis was answered in (Feishu's applink)."""
    return f"https://applink.feishu.cn/client/chat/open?openChatId={chat_id}" if chat_id else None


def ago(delta: timedelta, locale: Locale) -> str:
    """`2 天前` / `2 days ago`, to the largest whole unit."""
    seconds = max(0, int(delta.total_seconds()))
    for size, unit in ((86_400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return message(locale, f"ago.{unit}s" if n > 1 else f"ago.{unit}", n=n)
    return message(locale, "ago.now")


def recall_line(record: IncidentRecord, now: datetime, locale: Locale) -> str | None:
    """`上次：<what> 根因 <service>（2 天前）[查看](link)`, or None without a top candidate."""
    top = record.top
    if top is None:
        return None
    what = _inert(record.alertname or record.question, 120)
    when = ago(now - record.answered_at, locale)
    link = thread_link(record.chat_id)
    cause = _inert(top.service, 80)
    line = message(locale, "incident.recall", what=what, cause=cause, when=when, confidence=top.confidence)
    return line + (message(locale, "incident.open", link=link) if link else "")


def _inert(text: str, limit: int) -> str:
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return cut.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
