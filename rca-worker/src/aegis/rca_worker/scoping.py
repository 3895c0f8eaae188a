"""Deciding what a question is about: services, window and model, from the event and its conversation.

The channel that took the question already read its window and model (`QuestionEvent.window_chosen`
says whether the asker named a window); here only the services the backends know are found in its
words, and what the asker left open is taken from the conversation's previous scope. Pure: the
caller looks up the known names and the previous scope. Users name where they see the symptom;
widening the scope to what those services call happens after, from the dependency graph.
"""

from dataclasses import dataclass
from datetime import timedelta

from aegis.rca_worker.sessions import SessionScope
from aegis.shared.questions import ModelAlias, QuestionEvent, TimeWindow
from aegis.shared.service_names import services_named

SERVICE_LABELS = ("service", "service_name", "app", "app_kubernetes_io_name", "container")


@dataclass(frozen=True)
class ResolvedScope:
    """Services named (empty: the whole estate), the window, the model, and whether memory was used."""

    named: list[str]
    window: TimeWindow
    model: ModelAlias
    follow_up: bool


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
    named = set(question.services) | set(services_named(question.text, known_services))
    if (from_alert := alert_service(question.alert_labels)) is not None:
        named.add(from_alert)
    follow_up = previous is not None and previous.request_id != question.request_id
    window = question.window
    if previous is not None:
        if not named:
            named = set(previous.services)
        if not question.window_chosen and previous.window_s > 0:
            window = TimeWindow(start=window.end - timedelta(seconds=previous.window_s), end=window.end)
    model = question.model or (previous.model if previous is not None else default_model)
    return ResolvedScope(sorted(named), window, model, follow_up)
