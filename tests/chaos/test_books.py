"""The chaos run's books have teeth: a group shown twice or a question replied to twice is counted
as duplicated, one never shown or still "analysing…" as lost."""

import json

from aegis.devkit.chaos import CHAT, alert_cards, question_outcome
from aegis.devkit.fakes.feishu import FakeFeishu, FakeMessage


def card(message_id: str, title: str, body: str, parent: str | None = None) -> FakeMessage:
    content = {
        "header": {"title": {"content": title}},
        "elements": [{"tag": "div", "text": {"content": body}}],
    }
    return FakeMessage(
        message_id, CHAT, "interactive", json.dumps(content, ensure_ascii=False), None, 0.0, parent_id=parent
    )


def test_a_group_in_its_own_card_and_again_in_a_digest_counts_twice() -> None:
    feishu = FakeFeishu()
    for message in (
        card("om_1", "告警 Chaos00001", "🔥 **Chaos00001** service=`cart`"),
        card("om_2", "3 组告警", "🔥 **Chaos00001** ×1\n🔥 **Chaos00002** ×1"),
        card("om_3", "🔎 根因分析", "**Chaos00003** in an answer is no alert card", parent="om_q"),
    ):
        feishu.messages[message.message_id] = message
    shown = alert_cards(feishu)
    assert shown == {"Chaos00001": 2, "Chaos00002": 1}


def test_a_question_is_answered_once_only_with_one_reply_that_became_the_answer() -> None:
    answer = card("om_a", "🔎 根因分析", "**#1 payment**", parent="om_q")
    analysing = card("om_b", "⏳ 正在分析", "✓ 确定范围", parent="om_q")
    failed = card("om_c", "❌ 分析失败", "timed out", parent="om_q")
    assert question_outcome([answer]) == "answered"
    assert question_outcome([failed]) == "answered"
    assert question_outcome([answer, answer]) == "duplicated"
    assert question_outcome([analysing]) == "lost"
    assert question_outcome([]) == "lost"
