"""NATS subject names: the one place where the wire addresses of Aegis events are spelled."""

from typing import Final, Literal

AlertStatus = Literal["firing", "resolved"]
QuestionSource = Literal["feishu", "api", "cli"]

ALERTS: Final = "aegis.alert.>"
QUESTIONS: Final = "aegis.question.>"
RCA: Final = "aegis.rca.>"
DLQ: Final = "aegis.dlq.>"
DLQ_PREFIX: Final = "aegis.dlq."


def alert_subject(status: AlertStatus) -> str:
    """`aegis.alert.firing` or `aegis.alert.resolved`."""
    return f"aegis.alert.{status}"


def question_subject(source: QuestionSource) -> str:
    """`aegis.question.<source>`: where a question asked through `source` is published."""
    return f"aegis.question.{source}"


def cancel_subject(request_id: str) -> str:
    """`aegis.question.cancel.<request_id>`: nobody waits for this API question's answer any more."""
    return f"aegis.question.cancel.{request_id}"


def progress_subject(request_id: str) -> str:
    """`aegis.rca.progress.<request_id>`: progress of one analysis."""
    return f"aegis.rca.progress.{request_id}"


def result_subject(source: QuestionSource) -> str:
    """`aegis.rca.result.<source>`: answers routed back to the channel that asked."""
    return f"aegis.rca.result.{source}"


def dead_letter_subject(original_subject: str) -> str:
    """`aegis.dlq.<original subject>`: where a message that could not be handled is kept."""
    return DLQ_PREFIX + original_subject
