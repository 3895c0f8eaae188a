"""Which messages become questions, and what each question carries (pure decisions)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from aegis.devkit.fakes.feishu_events import BOT_OPEN_ID, GROUP_CHAT, mention, message_event, post_content
from aegis.gateway_feishu.decisions import Ignored, request_id_for
from aegis.gateway_feishu.events import MessageReceived
from aegis.gateway_feishu.message_questions import ChatPolicy, question_from_message
from aegis.shared.questions import QuestionEvent

POLICY = ChatPolicy(BOT_OPEN_ID, known_services=("payment",))
WRITTEN = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def decide(event: dict[str, Any], policy: ChatPolicy = POLICY) -> QuestionEvent | Ignored:
    return question_from_message(MessageReceived.model_validate(event), policy)


def ask(text: str = "@_user_1 hi", **fields: Any) -> QuestionEvent:
    decision = decide(message_event(text, create_time_ms=int(WRITTEN.timestamp() * 1000), **fields))
    assert isinstance(decision, QuestionEvent), decision
    return decision


@pytest.mark.parametrize(
    ("text", "mentions", "expected"),
    [
        ("@_user_1 payment 报错了", [mention()], "payment 报错了"),
        ("payment 报错了 @_user_1", [mention()], "payment 报错了"),
        ("@_user_1", [mention()], ""),
        ("@_user_1   ", [mention()], ""),
        (
            "@_user_1 @_user_2 的发布有问题吗",
            [mention(), mention("@_user_2", "ou_wang", "王五")],
            "@王五 的发布有问题吗",
        ),
        ("@_user_2 看下 @_user_1", [mention("@_user_2", "ou_wang", "王五"), mention()], "@王五 看下"),
    ],
)
def test_mentions_resolved(text: str, mentions: list[dict[str, Any]], expected: str) -> None:
    """The bot's placeholder is dropped, other people stay readable; only an @ is an empty question."""
    assert ask(text, mentions=mentions).text == expected


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (message_event("payment 挂了吗", mentions=[]), "not_mentioned"),
        (message_event("@_user_1 看看", mentions=[mention(open_id="ou_other")]), "not_mentioned"),
        (message_event(message_type="image", content={"image_key": "img_1"}), "unreadable_message"),
        (message_event(message_type="text", content={"no_text": 1}, mentions=[mention()]), None),
        (message_event(sender_type="app"), "from_app"),
        (message_event(chat_id="oc_elsewhere"), "chat_not_allowed"),
    ],
    ids=["group-no-mention", "other-person", "image", "text-without-text", "from-a-bot", "chat-not-allowed"],
)
def test_messages_that_ask_nothing(event: dict[str, Any], reason: str | None) -> None:
    """Group messages without the bot's @, non-text messages, bots and foreign chats are ignored."""
    policy = ChatPolicy(BOT_OPEN_ID, allowed_chat_ids=frozenset({GROUP_CHAT}))
    decision = decide(event, policy)
    if reason is None:
        assert isinstance(decision, QuestionEvent)
        assert decision.text == ""
    else:
        assert isinstance(decision, Ignored)
        assert decision.reason == reason


def test_p2p_needs_no_mention() -> None:
    """In a one-to-one chat any text message is a question."""
    question = ask("payment 慢", chat_type="p2p", chat_id="oc_p2p", mentions=[])
    assert (question.text, question.services) == ("payment 慢", ["payment"])


def test_post_read_with_title_links_and_mentions() -> None:
    """Rich text: title and paragraphs in order, links by their text, images skipped, the bot's @ dropped."""
    content = post_content(
        [
            {"tag": "at", "user_id": "@_user_1", "user_name": "Aegis"},
            {"tag": "text", "text": " payment 报错"},
        ],
        [{"tag": "img", "image_key": "img_1"}],
        [{"tag": "text", "text": "见 "}, {"tag": "a", "text": "面板", "href": "https://grafana"}],
        title="线上故障",
    )
    assert ask(message_type="post", content=content).text == "线上故障\npayment 报错\n见 面板"
    wrapped = {"zh_cn": content}  # as some clients echo a sent post back
    assert ask(message_type="post", content=wrapped).text == "线上故障\npayment 报错\n见 面板"


def test_routing_and_conversation() -> None:
    """reply_to names the chat, message and thread; a thread reply shares its root's conversation."""
    first = ask(message_id="om_root")
    follow_up = ask(message_id="om_reply", root_id="om_root", thread_id="omt_1")
    assert first.reply_to is not None
    assert follow_up.reply_to is not None
    assert (first.reply_to.chat_id, first.reply_to.message_id, first.reply_to.thread_id) == (
        GROUP_CHAT,
        "om_root",
        None,
    )
    assert follow_up.reply_to.thread_id == "omt_1"
    assert first.conversation_key == follow_up.conversation_key == f"{GROUP_CHAT}:om_root"
    assert (first.window.end, first.created_at) == (WRITTEN, WRITTEN)


def test_the_question_records_whether_its_words_chose_the_window() -> None:
    """ "过去3小时" chooses a 3-hour window; words without a time leave the default 15 minutes unchosen."""
    chosen = ask("@_user_1 payment 过去3小时怎么样")
    assert (chosen.window.span.total_seconds(), chosen.window_chosen) == (3 * 3600, True)
    default = ask("@_user_1 那 payment 呢")
    assert (default.window.span.total_seconds(), default.window_chosen) == (15 * 60, False)


@pytest.mark.parametrize(
    ("event_id", "expected"),
    [
        ("5e3702a84e847582be8db7fb73283c02", "fs-5e3702a84e847582be8db7fb73283c02"),
        ("a" * 61, "fs-" + "a" * 61),
        ("a" * 62, None),
        ("id with spaces/and:colons", None),
    ],
)
def test_request_id_from_event_id(event_id: str, expected: str | None) -> None:
    """Stable per event id and always valid for QuestionEvent (≤ 64 chars of [A-Za-z0-9_-])."""
    request_id = request_id_for(event_id)
    assert request_id == request_id_for(event_id)
    if expected is not None:
        assert request_id == expected
    QuestionEvent(request_id=request_id, source="feishu", text="")
