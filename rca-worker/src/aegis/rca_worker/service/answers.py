"""Answers that need no analysis: usage help for an empty question, and the failure answer.

Pure, in the asker's language. The failure answer is what keeps the promise that every question
gets a reply: it says what went wrong and what to try.
"""

from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult
from aegis.shared.settings import Locale

USAGE: dict[Locale, str] = {
    "zh": (
        "请告诉我要分析什么，例如：「payment 5xx 变多了，怎么回事？」、「checkout 过去1小时延迟升高」、"
        "「用 deepseek 分析 cart」。我会只读地查询 Prometheus、Loki 和 Jaeger，"
        "给出 1–3 个最可能的根因及证据。"
    ),
    "en": (
        'Tell me what to look at, for example: "payment 5xx went up, why?", "checkout latency over the '
        'last hour", "use deepseek on cart". I read Prometheus, Loki and Jaeger (read-only) and answer '
        "with the 1–3 most likely root causes and their evidence."
    ),
}


def usage_result(question: QuestionEvent, locale: Locale) -> RcaResult:
    """The answer to an empty question: how to ask."""
    return RcaResult(
        request_id=question.request_id,
        source=question.source,
        reply_to=question.reply_to,
        summary=USAGE[locale],
        model="none",
        timings={"total_ms": 0},
    )


def failure_result(question: QuestionEvent, reason: str, attempts: int, locale: Locale) -> RcaResult:
    """The answer when no attempt could finish: why, and what the asker can do."""
    if locale == "zh":
        summary = (
            f"分析未能完成（尝试了 {attempts} 次）：{reason}。请稍后再问一次，或缩小时间范围、指明服务。"
        )
    else:
        summary = (
            f"The analysis could not be completed after {attempts} attempts: {reason}. Please ask again "
            "later, or narrow the time window or name the service."
        )
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
