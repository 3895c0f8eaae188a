"""Scope, pure: services named in words the backends know, alert labels, follow-ups reusing the
previous scope only where the asker left it open, and KV-safe conversation keys."""

from datetime import UTC, datetime, timedelta

import pytest

from aegis.alert_ingest.ops_request import OpsRequest
from aegis.rca_worker.scoping import is_empty, resolve_scope
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
        ("过去15分钟呢", timedelta(minutes=15), ["payment"], 15),
    ],
)
def test_a_follow_up_reuses_what_it_leaves_open(
    text: str, window: timedelta | None, services: list[str], minutes: int
) -> None:
    """Unnamed services, an unstated window length and an unstated model come from the previous question."""
    previous = SessionScope(services=["payment"], window_s=3600, model="glm", request_id="r1")
    given = TimeWindow.last(window, now=NOW) if window else TimeWindow.last(now=NOW)
    question = _question(text, window=given, window_chosen=window is not None)
    scope = resolve_scope(question, KNOWN, previous, "none")
    assert scope.named == services
    assert scope.window.end == NOW
    assert scope.window.end - scope.window.start == timedelta(minutes=minutes)
    assert scope.model == "glm"
    assert scope.follow_up


def test_an_api_window_is_kept_in_a_conversation_that_looked_further_back() -> None:
    """An API call with an explicit 15-minute window and a conversation_id is analysed over those 15
    minutes, not over the previous question's 3 hours; without start/end it follows the conversation."""
    previous = SessionScope(services=["payment"], window_s=3 * 3600, model="glm", request_id="r1")
    explicit = OpsRequest(
        question="payment 呢", start=NOW - timedelta(minutes=15), end=NOW, conversation_id="c1"
    ).to_question(timedelta(days=7))
    explicit = QuestionEvent.model_validate_json(explicit.model_dump_json())  # as the worker reads it
    assert explicit.window_chosen
    assert resolve_scope(explicit, KNOWN, previous, "none").window.span == timedelta(minutes=15)
    open_ended = OpsRequest(question="payment 呢", conversation_id="c1").to_question(timedelta(days=7), NOW)
    assert not open_ended.window_chosen
    assert resolve_scope(open_ended, KNOWN, previous, "none").window.span == timedelta(hours=3)


def test_empty_questions_are_recognised() -> None:
    """Blank text with no hints is empty; an alert alone is not."""
    assert is_empty(_question("  "))
    assert not is_empty(_question("", alert_labels={"alertname": "X"}))


def test_conversation_keys_become_distinct_nats_kv_keys() -> None:
    """Colons, spaces and non-ASCII are replaced, and a hash keeps keys apart that sanitise alike."""
    key = session_key("oc_1:om_2")
    assert key.startswith("conv.oc_1_om_2.")
    assert all(c.isalnum() or c in "-_=." for c in key)
    assert session_key("a:b") != session_key("a b")
    assert all(c.isascii() for c in session_key("群聊:线程"))
