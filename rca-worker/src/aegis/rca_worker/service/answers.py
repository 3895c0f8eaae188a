"""Answers that need no analysis: usage help for an empty question, and the failure answer.

Pure, in the asker's language. The failure answer is what keeps the promise that every question
gets a reply: it says what went wrong and what to try.
"""

from aegis.shared.messages import message
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.settings import Locale


def usage_result(question: QuestionEvent, locale: Locale) -> RcaResult:
    """The answer to an empty question: how to ask."""
    return RcaResult(
        request_id=question.request_id,
        source=question.source,
        reply_to=question.reply_to,
        summary=message(locale, "answer.usage"),
        model="none",
        timings={"total_ms": 0},
    )


def failure_result(question: QuestionEvent, reason: str, attempts: int, locale: Locale) -> RcaResult:
    """The answer when no attempt could finish: why, and what the asker can do."""
    summary = message(locale, "answer.failed", attempts=attempts, reason=reason)
    return RcaResult(
        request_id=question.request_id,
        source=question.source,
        reply_to=question.reply_to,
        summary=summary,
        model="none",
        failed=True,
        degraded=True,
        degraded_reason=reason[:500],
        timings={"total_ms": 0},
    )
