"""Scope, pure: services named in words the backends know, alert labels, follow-ups reusing the
previous scope, and KV-safe conversation keys."""

from datetime import UTC, datetime, timedelta

import pytest

from aegis.rca_worker.discovery import names_in_text
from aegis.rca_worker.scoping import is_empty, mentions_time, resolve_scope
from aegis.rca_worker.sessions import SessionScope, session_key
from aegis.shared.questions import QuestionEvent, TimeWindow

KNOWN = {"payment", "checkout", "cart", "ts-order-service", "ad"}
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _question(text: str, **fields: object) -> QuestionEvent:
    values: dict[str, object] = {
        "request_id": "r2",
        "source": "feishu",
        "text": text,
        "window": TimeWindow.last(now=NOW),
        **fields,
    }
    return QuestionEvent.model_validate(values)


def test_names_are_matched_as_whole_words_next_to_chinese_or_punctuation() -> None:
    """ "payment服务" and "ts-order-service" name services; "adding" and "cartography" do not."""
    assert names_in_text("payment服务 5xx 变多了，ts-order-service 呢？", KNOWN) == [
        "payment",
        "ts-order-service",
    ]
    assert names_in_text("adding cartography to PAYMENT", KNOWN) == ["payment"]


def test_a_first_question_uses_named_services_alert_labels_and_the_default_model() -> None:
    """Names in the text, the services hint and the alert's service all count; nothing named is the estate."""
    q = _question("checkout 慢", services=["cart"], alert_labels={"service": "payment", "severity": "page"})
    scope = resolve_scope(q, KNOWN, None, "qwen")
    assert scope.named == ["cart", "checkout", "payment"]
    assert scope.model == "qwen"
    assert not scope.follow_up
    assert resolve_scope(_question("怎么回事"), KNOWN, None, "none").named == []


@pytest.mark.parametrize(
    ("text", "window", "services", "minutes"),
    [
        ("那 checkout 呢？", None, ["checkout"], 60),
        ("what about the last hour?", timedelta(hours=1), ["payment"], 60),
        ("还有别的问题吗", None, ["payment"], 60),
        ("过去15分钟呢", None, ["payment"], 15),
    ],
)
def test_a_follow_up_reuses_what_it_leaves_open(
    text: str, window: timedelta | None, services: list[str], minutes: int
) -> None:
    """Unnamed services, an unstated window length and an unstated model come from the previous question."""
    previous = SessionScope(services=["payment"], window_s=3600, model="glm", request_id="r1")
    given = TimeWindow.last(window, now=NOW) if window else TimeWindow.last(now=NOW)
    scope = resolve_scope(_question(text, window=given), KNOWN, previous, "none")
    assert scope.named == services
    assert scope.window.end == NOW
    assert scope.window.end - scope.window.start == timedelta(minutes=minutes)
    assert scope.model == "glm"
    assert scope.follow_up


def test_time_phrases_and_empty_questions_are_recognised() -> None:
    """Chinese and English time phrases count; "5xx" and "500ms" do not; blank text with no hints is empty."""
    for phrase in (
        "过去1小时",
        "最近30分钟",
        "昨晚10点以后",
        "last 30m",
        "in the past 2 hours",
        "since 09:30",
    ):
        assert mentions_time(phrase), phrase
    for other in ("payment 5xx", "p99 above 500ms", "那 checkout 呢"):
        assert not mentions_time(other), other
    assert is_empty(_question("  "))
    assert not is_empty(_question("", alert_labels={"alertname": "X"}))


def test_conversation_keys_become_distinct_nats_kv_keys() -> None:
    """Colons, spaces and non-ASCII are replaced, and a hash keeps keys apart that sanitise alike."""
    key = session_key("oc_1:om_2")
    assert key.startswith("conv.oc_1_om_2.")
    assert all(c.isalnum() or c in "-_=." for c in key)
    assert session_key("a:b") != session_key("a b")
    assert all(c.isascii() for c in session_key("群聊:线程"))
