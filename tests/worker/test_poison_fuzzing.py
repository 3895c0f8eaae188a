"""Poison fuzzing against the real nats-server, notifier and rca-worker: hostile messages on every
consumed subject end handled or dead-lettered with a reason, no consumer dies, and a good message
sent after them is delivered within 5 s.

CI throws `AEGIS_FUZZ_MESSAGES` (300 by default) messages; the full run is
`AEGIS_FUZZ_MESSAGES=2000 .venv/bin/pytest -q tests/worker/test_poison_fuzzing.py -s`.
"""

import asyncio
import contextlib
import itertools
import os
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from operator import contains

from nats.aio.client import Client
from nats.aio.msg import Msg

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import alert_event
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier, publish
from aegis.devkit.harness.poison import hostile_corpus
from aegis.devkit.harness.waiting import wait_for
from aegis.rca_worker.service.app import make_app
from aegis.shared.consumers import CONSUMERS
from aegis.shared.questions import QuestionEvent, ReplyTo
from aegis.shared.rca import RcaResult
from aegis.shared.subjects import question_subject, result_subject
from tests.worker.asking import Backends, dead_letters
from tests.worker.conftest import running, worker_settings


def shown_in(feishu: FakeFeishu, text: str) -> Callable[[], bool]:
    return lambda: any(text in message.current for message in feishu.sent(CHAT))


HOSTILE = int(os.environ.get("AEGIS_FUZZ_MESSAGES", "300"))
GOOD_EVERY = 25
GOOD_WITHIN_S = 5.0


async def test_hostile_messages_never_stop_a_consumer_and_good_ones_still_arrive(
    nats_client: Client, nats_url: str, backends: Backends, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """Every hostile message is acked or dead-lettered with a reason; each good probe (alert card,
    API answer, Feishu answer, Feishu question answered) arrives within 5 s; all loops stay alive."""
    corpus = hostile_corpus(HOSTILE)
    js = nats_client.jetstream()
    answered: dict[str, float] = {}

    async def on_result(msg: Msg) -> None:
        with contextlib.suppress(ValueError):
            answered.setdefault(RcaResult.model_validate_json(msg.data).request_id, time.monotonic())

    watcher = await nats_client.subscribe("aegis.rca.result.>", cb=on_result)
    latencies: list[float] = []
    probes = itertools.cycle(("alert", "api", "result", "question"))
    settings = worker_settings(nats_url, backends, rca_analysis_timeout_s=10.0)
    async with running(make_app(settings)), run_notifier() as notifier:
        for number, message in enumerate(corpus, start=1):
            await js.publish(message.subject, message.data, headers=message.headers)
            if number % GOOD_EVERY:
                continue
            kind, tag = next(probes), f"good{number:05d}"
            started = time.monotonic()
            if kind == "alert":
                await publish(nats_client, alert_event(name=f"Good{number:05d}", service="probe"))
                await wait_for(
                    shown_in(feishu, f"Good{number:05d}"),
                    timeout=GOOD_WITHIN_S,
                    what=f"alert probe after message {number}",
                )
            elif kind == "api":
                probe = QuestionEvent(request_id=tag, source="api", text="")
                await js.publish(question_subject("api"), probe.model_dump_json().encode())
                await wait_for(
                    partial(contains, answered, tag), timeout=GOOD_WITHIN_S, what=f"api probe {number}"
                )
            else:
                asked = feishu.user_message(CHAT, f"@Aegis {tag}")
                reply = ReplyTo(chat_id=CHAT, message_id=asked.message_id)
                if kind == "result":
                    event = RcaResult(request_id=tag, source="feishu", reply_to=reply, summary=tag)
                    await js.publish(result_subject("feishu"), event.model_dump_json().encode())
                else:
                    asking = QuestionEvent(request_id=tag, source="feishu", text="", reply_to=reply)
                    await js.publish(question_subject("feishu"), asking.model_dump_json().encode())
                await wait_for(
                    partial(feishu.replies_to, asked.message_id),
                    timeout=GOOD_WITHIN_S,
                    what=f"{kind} probe after message {number}",
                )
            latencies.append(time.monotonic() - started)

        async def drained() -> bool:
            for spec in CONSUMERS:
                info = await js.consumer_info(spec.stream, spec.durable)
                if info.num_pending or info.num_ack_pending:
                    return False
            return True

        deadline = time.monotonic() + 60
        while not await drained():
            assert time.monotonic() < deadline, "consumers did not settle every hostile message"
            await asyncio.sleep(0.2)
        health = notifier.health()
        assert health.failure is None, health.failure
        assert notifier.heartbeats.stale() == []
    await watcher.unsubscribe()
    letters = await dead_letters(nats_client)
    reasons = Counter(headers["Aegis-Dlq-Subject"] for _, headers in letters)
    assert all(headers.get("Aegis-Dlq-Reason") for _, headers in letters), "every dead letter says why"
    assert len(latencies) == HOSTILE // GOOD_EVERY
    assert max(latencies) < GOOD_WITHIN_S
    print(
        f"\n{HOSTILE} hostile messages, {len(letters)} dead-lettered {dict(reasons)}, "
        f"{len(latencies)} good probes, slowest {max(latencies):.2f} s"
    )
