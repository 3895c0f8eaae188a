"""An @mention answered in its thread, through every service: gateway → worker → notifier → Feishu."""

from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu, FakeMessage
from aegis.devkit.fakes.feishu_events import GROUP_CHAT, message_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.notifier_runner import RunNotifier
from aegis.devkit.harness.waiting import wait_for
from aegis.rca_worker.service.app import make_app
from aegis.shared.rca import RcaProgress
from aegis.shared.subjects import progress_subject
from tests.gateway.conftest import SettingsFactory, feishu_ws, running_gateway, ws_settings  # noqa: F401
from tests.worker.asking import Backends
from tests.worker.conftest import backends, prometheus_loopback, running, worker_settings  # noqa: F401
from tests.worker.incident import incident, jaeger_fake, loki_fake  # noqa: F401


def answers_under(feishu: FakeFeishu, message: FakeMessage) -> list[FakeMessage]:
    return feishu.replies_to(message.message_id)


async def test_mention_is_acknowledged_then_answered_in_its_thread_and_followed_up(
    nats_url: str,
    nats_client: Client,
    feishu: FakeFeishu,
    feishu_ws: FakeLongConnection,  # noqa: F811
    ws_settings: SettingsFactory,  # noqa: F811
    backends: Backends,  # noqa: F811
    run_notifier: RunNotifier,
) -> None:
    """@Aegis question → "analysing…" reply → the answer in that card; a follow-up in the thread
    reuses the conversation's scope; the same event delivered three times is answered once."""
    progress: list[RcaProgress] = []

    async def record(msg: object) -> None:
        progress.append(RcaProgress.model_validate_json(msg.data))  # type: ignore[attr-defined]

    await nats_client.subscribe(progress_subject("*"), cb=record)
    asked = feishu.user_message(GROUP_CHAT, "@_user_1 payment 5xx 变多了，过去30分钟怎么回事？")
    first = message_event("@_user_1 payment 5xx 变多了，过去30分钟怎么回事？", message_id=asked.message_id)
    settings = ws_settings(aegis_known_services="payment,checkout,frontend")
    async with (
        running_gateway(settings),
        running(make_app(worker_settings(nats_url, backends, locale="zh"))),
        run_notifier(),
    ):
        for _ in range(3):  # Feishu re-delivers: the same event three times
            ack = await feishu_ws.send_event(first)
            assert ack.code == 200
        await wait_for(lambda: answers_under(feishu, asked), timeout=30, what="the acknowledgement")
        [card] = answers_under(feishu, asked)
        assert "正在分析" in card.content
        await wait_for(lambda: "根因分析" in card.current, timeout=60, what="the answer in the card")

        follow = feishu.user_message(GROUP_CHAT, "@_user_1 那过去1小时呢？")
        second = message_event(
            "@_user_1 那过去1小时呢？",
            message_id=follow.message_id,
            root_id=asked.message_id,
            thread_id="omt_1",
        )
        await feishu_ws.send_event(second)
        await wait_for(
            lambda: answers_under(feishu, follow), timeout=30, what="the follow-up's acknowledgement"
        )
        [follow_card] = answers_under(feishu, follow)
        await wait_for(lambda: "根因分析" in follow_card.current, timeout=60, what="the follow-up's answer")
    assert answers_under(feishu, asked) == [card], "one reply to the thrice-delivered question"
    assert "payment" in card.current
    scopes = [p.message for p in progress if p.step == "scope" and p.status == "done"]
    assert len(scopes) == 2, scopes
    assert "payment" in scopes[1]
