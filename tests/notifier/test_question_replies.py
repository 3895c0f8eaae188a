"""Replies in the asker's thread: acknowledgement, progress, and exactly one answer."""

import asyncio

from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for
from aegis.notifier.reply_cards import render_ack_card
from aegis.notifier.sinks import FeishuSink
from aegis.shared.questions import QuestionEvent, ReplyTo
from aegis.shared.rca import Evidence, RcaProgress, RcaResult, RootCauseCandidate
from aegis.shared.subjects import progress_subject, question_subject, result_subject


def question(request_id: str, message_id: str, text: str = "payment 5xx 变多了，怎么回事？") -> QuestionEvent:
    return QuestionEvent(
        request_id=request_id,
        source="feishu",
        text=text,
        reply_to=ReplyTo(chat_id=CHAT, message_id=message_id, thread_id="omt_1"),
    )


def answer(request_id: str, message_id: str, **changes: object) -> RcaResult:
    result = RcaResult(
        request_id=request_id,
        source="feishu",
        reply_to=ReplyTo(chat_id=CHAT, message_id=message_id, thread_id="omt_1"),
        summary="最可能的根因：payment-db（置信度 82%）。",
        root_causes=[
            RootCauseCandidate(
                rank=1,
                service="payment-db",
                hypothesis="payment-db 连接耗尽，payment 的 5xx 随之上升",
                confidence=0.82,
                evidence=[
                    Evidence(
                        kind="metric",
                        query='rate(http_requests_total{service="payment",code=~"5.."}[5m])',
                        excerpt="0.4/s → 12/s",
                    ),
                    Evidence(
                        kind="trace",
                        query="4bf92f3577b34da6",
                        excerpt="payment-db span error: too many connections",
                    ),
                ],
            )
        ],
        next_actions=["检查 payment-db 的连接池上限与慢查询"],
        model="none",
        timings={"total_ms": 1234},
    )
    return result.model_copy(update=changes)


async def test_question_is_acknowledged_then_answered_in_the_same_card(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """ "analysing…" appears in the thread at once, progress updates it, and the answer replaces it."""
    asked = feishu.user_message(CHAT, "@_user_1 payment 5xx 变多了，怎么回事？")
    js = nats_client.jetstream()
    async with run_notifier(
        grafana_base_url="https://grafana.example", jaeger_ui_base_url="https://jaeger.example"
    ):
        await js.publish(
            question_subject("feishu"), question("r1", asked.message_id).model_dump_json().encode()
        )
        await wait_for(lambda: feishu.replies_to(asked.message_id), what="the acknowledgement")
        [ack] = feishu.replies_to(asked.message_id)
        assert "正在分析" in ack.content
        assert ack.reply_in_thread
        for step in ("scope", "collect"):
            progress = RcaProgress(request_id="r1", step=step, status="done", message=f"{step} ok")
            await js.publish(progress_subject("r1"), progress.model_dump_json().encode())
            await asyncio.sleep(1.1)
        await wait_for(lambda: ack.patches, what="a progress update")
        assert "✓" in ack.patches[0]
        await js.publish(result_subject("feishu"), answer("r1", asked.message_id).model_dump_json().encode())
        await wait_for(lambda: "payment-db" in ack.current, what="the answer")
        await js.publish(result_subject("feishu"), answer("r1", asked.message_id).model_dump_json().encode())
        await asyncio.sleep(1.0)
    assert feishu.replies_to(asked.message_id) == [ack], "one bot message in the thread"
    shown = ack.current
    for expected in (
        "82%",
        "连接耗尽",
        "检查 payment-db 的连接池",
        "https://grafana.example/explore",
        "https://jaeger.example/trace/4bf92f3577b34da6",
        "none",
    ):
        assert expected in shown
    assert sum("payment-db" in patch for patch in ack.patches) == 1, "answered once"


async def test_answer_without_acknowledgement_is_posted_as_a_reply(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """An empty question gets no "analysing…"; its answer (usage help) is replied directly."""
    asked = feishu.user_message(CHAT, "@_user_1")
    js = nats_client.jetstream()
    async with run_notifier():
        await js.publish(
            question_subject("feishu"), question("r2", asked.message_id, text="").model_dump_json().encode()
        )
        help_result = answer(
            "r2", asked.message_id, summary="用法：@Aegis <问题>", root_causes=[], next_actions=[]
        )
        await js.publish(result_subject("feishu"), help_result.model_dump_json().encode())
        await wait_for(lambda: feishu.replies_to(asked.message_id), what="the reply")
        await asyncio.sleep(0.5)
    [reply] = feishu.replies_to(asked.message_id)
    assert "用法" in reply.content


async def test_failed_and_degraded_answers_say_so(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A failed analysis gets a red failure card with the reason; a degraded one an orange notice."""
    failed_at = feishu.user_message(CHAT, "q1")
    degraded_at = feishu.user_message(CHAT, "q2")
    js = nats_client.jetstream()
    failed = answer(
        "r3",
        failed_at.message_id,
        failed=True,
        root_causes=[],
        summary="分析失败，请稍后重试",
        degraded_reason="rca-worker gave up after 5 deliveries",
    )
    degraded = answer("r4", degraded_at.message_id, degraded=True, degraded_reason="LLM timed out after 60 s")
    async with run_notifier():
        await js.publish(result_subject("feishu"), failed.model_dump_json().encode())
        await js.publish(result_subject("feishu"), degraded.model_dump_json().encode())
        await wait_for(
            lambda: feishu.replies_to(failed_at.message_id) and feishu.replies_to(degraded_at.message_id),
            what="both replies",
        )
    [failure] = feishu.replies_to(failed_at.message_id)
    assert failure.card()["header"]["template"] == "red"
    assert "gave up after 5 deliveries" in failure.content
    [caveat] = feishu.replies_to(degraded_at.message_id)
    assert caveat.card()["header"]["template"] == "orange"
    assert "LLM timed out after 60 s" in caveat.content


async def test_answer_after_the_acknowledgement_was_recalled_is_replied_anew(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """The "analysing…" card was recalled: the answer cannot patch it, so it is a new reply, once."""
    asked = feishu.user_message(CHAT, "@_user_1 payment 5xx 变多了，怎么回事？")
    js = nats_client.jetstream()
    async with run_notifier():
        await js.publish(
            question_subject("feishu"), question("r5", asked.message_id).model_dump_json().encode()
        )
        await wait_for(lambda: feishu.replies_to(asked.message_id), what="the acknowledgement")
        [ack] = feishu.replies_to(asked.message_id)
        feishu.recall(ack.message_id)
        await js.publish(result_subject("feishu"), answer("r5", asked.message_id).model_dump_json().encode())
        await wait_for(lambda: feishu.replies_to(asked.message_id), what="the answer")
        await asyncio.sleep(0.5)
    [reply] = feishu.replies_to(asked.message_id)
    assert "payment-db" in reply.current
    assert reply.reply_in_thread


async def test_question_whose_message_was_recalled_is_answered_in_the_chat(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """The asker recalled the question: "analysing…" and then the answer are posted in the chat."""
    asked = feishu.user_message(CHAT, "@_user_1 payment 5xx 变多了，怎么回事？")
    feishu.recall(asked.message_id)
    js = nats_client.jetstream()
    async with run_notifier():
        await js.publish(
            question_subject("feishu"), question("r6", asked.message_id).model_dump_json().encode()
        )
        await wait_for(lambda: feishu.sent(CHAT), what="the acknowledgement in the chat")
        await js.publish(result_subject("feishu"), answer("r6", asked.message_id).model_dump_json().encode())
        await wait_for(lambda: "payment-db" in feishu.sent(CHAT)[0].current, what="the answer")
        await asyncio.sleep(0.5)
    [message] = feishu.sent(CHAT)
    assert message.parent_id is None
    assert "payment-db" in message.current


async def test_an_answer_after_an_acknowledgement_whose_record_was_lost_replaces_it(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """The ack went out but the notifier died before saving it: the answer patches it, no 2nd reply."""
    asked = feishu.user_message(CHAT, "@_user_1 payment 5xx 变多了，怎么回事？")
    before_the_crash = FeishuSink(feishu.app_id, feishu.app_secret, feishu.base_url, 5.0)
    pending = render_ack_card(question("r6", asked.message_id), [], "zh")
    await before_the_crash.reply_card(asked.message_id, pending, uuid="kr6", in_thread=True)
    [ack] = feishu.replies_to(asked.message_id)
    async with run_notifier():
        await nats_client.jetstream().publish(
            result_subject("feishu"), answer("r6", asked.message_id).model_dump_json().encode()
        )
        await wait_for(lambda: "payment-db" in ack.current, what="the answer in the acknowledgement")
        await asyncio.sleep(0.5)
    assert feishu.replies_to(asked.message_id) == [ack], "one bot message in the thread"
