"""Deciding what a question is about: services, window and model, from its words and its conversation.

Pure: the caller looks up the names the backends know and the conversation's previous scope, and
this module only decides. Users name where they see the symptom; widening the scope to what those
services call happens after, from the dependency graph.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from aegis.rca_worker.discovery import names_in_text
from aegis.rca_worker.sessions import SessionScope
from aegis.shared.questions import DEFAULT_WINDOW, ModelAlias, QuestionEvent, TimeWindow

SERVICE_LABELS = ("service", "service_name", "app", "app_kubernetes_io_name", "container")

_TIME_PHRASES = re.compile(
    r"(?:过去|最近|近|前)\s*[\d一二两三四五六七八九十半]+\s*个?\s*(?:分钟|分|小时|钟头|天|日)"
    r"|[\d一二两三四五六七八九十半]+\s*个?\s*(?:分钟|小时|钟头|天)\s*(?:内|以内|之内|以来)"
    r"|昨天|昨晚|昨夜|前天|今天|今早|今晚|凌晨|\d{1,2}\s*[:：]\s*\d{2}|[\d一二两三四五六七八九十]+\s*点"
    r"|(?<![A-Za-z])(?:last|past|since|within|previous|yesterday|today|tonight|this\s+morning)(?![A-Za-z])"
    r"|(?<![A-Za-z0-9])\d+\s*(?:m|mins?|minutes?|h|hrs?|hours?|d|days?)(?![A-Za-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResolvedScope:
    """Services named (empty: the whole estate), the window, the model, and whether memory was used."""

    named: list[str]
    window: TimeWindow
    model: ModelAlias
    follow_up: bool


def mentions_time(text: str) -> bool:
    """Whether the question says which time it is about ("过去1小时", "last 30m", "昨晚10点")."""
    return _TIME_PHRASES.search(text) is not None


def alert_service(labels: dict[str, str]) -> str | None:
    """The service an alert's labels name, under the usual label names."""
    return next((labels[key] for key in SERVICE_LABELS if labels.get(key)), None)


def is_empty(question: QuestionEvent) -> bool:
    """A question with nothing to analyse: no words, no services, no alert."""
    return not question.text.strip() and not question.services and not question.alert_labels


def resolve_scope(
    question: QuestionEvent,
    known_services: set[str],
    previous: SessionScope | None,
    default_model: ModelAlias,
) -> ResolvedScope:
    """The scope of `question`, reusing the conversation's previous scope for what it leaves open."""
    named = set(question.services) | set(names_in_text(question.text, known_services))
    if (from_alert := alert_service(question.alert_labels)) is not None:
        named.add(from_alert)
    follow_up = previous is not None and previous.request_id != question.request_id
    window = question.window
    if previous is not None:
        if not named:
            named = set(previous.services)
        default_length = window.end - window.start == DEFAULT_WINDOW
        if default_length and not mentions_time(question.text) and previous.window_s > 0:
            window = TimeWindow(start=window.end - timedelta(seconds=previous.window_s), end=window.end)
    model = question.model or (previous.model if previous is not None else default_model)
    return ResolvedScope(sorted(named), window, model, follow_up)
