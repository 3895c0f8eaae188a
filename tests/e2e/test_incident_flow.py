"""Claim, memory and timeline end to end: the real Alertmanager, alert-ingest, nats-server, notifier
and gateway-feishu (HTTP callbacks), with the Feishu fake; the worker's answer is published as the
worker publishes it."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client
from pydantic import SecretStr

from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.fakes.feishu import FakeFeishu, FakeMessage
from aegis.devkit.fakes.feishu_events import card_click_event
from aegis.devkit.harness.alertmanager import Alertmanager
from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.ingest_server import serving_ingest
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import Evidence, RcaResult, RootCauseCandidate
from aegis.shared.subjects import result_subject
from tests.gateway.callbacks import VERIFICATION_TOKEN
from tests.gateway.conftest import make_settings, running_gateway, wait_for_questions

TOKEN = "s3cret-webhook-token"
RECEIVE = "/feishu/receive"
RUNBOOK = "https://runbooks.example.test/payment-errors"
LABELS = {"alertname": "PaymentHighErrorRate", "service": "payment", "severity": "critical"}
ANNOTATIONS = {"summary": "payment 5xx ratio above 5%", "runbook_url": RUNBOOK}


def _click(message: FakeMessage, action: str, open_id: str) -> dict[str, Any]:
    event = card_click_event(
        LABELS, datetime.now(UTC).isoformat(), card_message_id=message.message_id, action=action
    )
    event["event"]["operator"]["open_id"] = open_id
    return event


async def _answer(nc: Client, question: QuestionEvent) -> None:
    """What rca-worker publishes for the question: payment is the top candidate."""
    result = RcaResult(
        request_id=question.request_id,
        source="feishu",
        reply_to=question.reply_to,
        summary="payment's database pool is exhausted",
        root_causes=[
            RootCauseCandidate(
                rank=1,
                service="payment",
                hypothesis="connection pool exhausted after the 14:02 rollout",
                confidence=0.82,
                evidence=[
                    Evidence(kind="log", query='{service="payment"}', excerpt="pool timeout after 30s")
                ],
            )
        ],
        next_actions=["kubectl -n shop rollout history deploy/payment"],
    )
    await nc.jetstream().publish(result_subject("feishu"), result.model_dump_json().encode())


async def test_claim_then_memory_then_timeline(
    nats_url: str, nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """First claimer wins and the second is told; the resolve keeps the claim and posts one timeline;
    the next firing of the same alert shows the first one's root cause."""
    binary = require_binary(
        "prometheus-alertmanager", "alertmanager", package="Debian's prometheus-alertmanager"
    )
    ingest = IngestSettings(nats_url=nats_url, aegis_webhook_token=SecretStr(TOKEN), log_format="json")
    gateway_settings = make_settings(
        nats_url, feishu.base_url, feishu_event_mode="http", feishu_verification_token=VERIFICATION_TOKEN
    )
    async with (
        serving_ingest(ingest) as ingest_url,
        run_notifier(),
        running_gateway(gateway_settings) as gateway,
    ):
        with Alertmanager(binary, f"{ingest_url}/alertmanager/webhook", TOKEN) as am:
            started = datetime.now(UTC) - timedelta(minutes=3)
            await am.fire(LABELS, ANNOTATIONS, started)
            await wait_for(lambda: feishu.sent(CHAT), timeout=20, what="the alert card")
            [card] = feishu.sent(CHAT)
            assert RUNBOOK in card.content
            assert "我来处理" in card.content

            # Analyse from the card; the worker's answer comes back on NATS.
            analysed = await gateway.post(RECEIVE, json=_click(card, "analyse", "ou_li"))
            assert analysed.status_code == 200
            [question] = await wait_for_questions(nats_client, 1)
            await _answer(nats_client, question)
            await wait_for(
                lambda: any(
                    "connection pool exhausted" in m.current for m in feishu.replies_to(card.message_id)
                ),
                timeout=20,
                what="the answer in the card's thread",
            )
            [answer] = [m for m in feishu.replies_to(card.message_id) if "connection pool" in m.current]
            assert RUNBOOK in answer.current

            # Claim: the first click wins, the second is told who has it.
            first = (await gateway.post(RECEIVE, json=_click(card, "claim", "ou_wang"))).json()
            second = (await gateway.post(RECEIVE, json=_click(card, "claim", "ou_zhao"))).json()
            assert first["toast"]["type"] == "success"
            assert "<at id=ou_wang></at>" in str(first["card"]["data"])
            assert "我来处理" not in str(first["card"]["data"])
            assert second["toast"]["type"] == "info"
            assert "已有人" in second["toast"]["content"]
            assert "<at id=ou_wang></at>" in str(second["card"]["data"])
            assert "ou_zhao" not in str(second["card"]["data"])

            # Resolve: the card turns green, keeps the claim, and its thread gets one timeline.
            await am.fire(LABELS, ANNOTATIONS, started, ends_at=datetime.now(UTC))
            await wait_for(lambda: card.patches, timeout=20, what="the resolve patch")
            await wait_for(
                lambda: [m for m in feishu.replies_to(card.message_id) if "时间线" in m.current],
                timeout=20,
                what="the timeline",
            )
            assert card.card()["header"]["template"] == "green"
            assert "<at id=ou_wang></at>" in card.current

            # The same alert fires again: its new card remembers the root cause.
            await am.fire(LABELS, ANNOTATIONS, datetime.now(UTC))
            await wait_for(lambda: len(feishu.posted(CHAT)) >= 2, timeout=20, what="the second firing's card")
            again = feishu.posted(CHAT)[1]
    timelines = [m for m in feishu.replies_to(card.message_id) if "时间线" in m.current]
    assert len(timelines) == 1
    timeline = timelines[0].current
    for expected in ("触发", "根因 payment", "<at id=ou_wang></at>", "恢复", "持续"):
        assert expected in timeline
    assert "上次：PaymentHighErrorRate 根因 **payment**" in again.content
    assert "openChatId=" + CHAT in again.content
    listed = _aegis(nats_url, "history")
    assert "PaymentHighErrorRate" in listed
    assert "payment (82%)" in listed
    shown = _aegis(nats_url, "history", "show", question.request_id)
    for expected in (
        "connection pool exhausted after the 14:02 rollout",
        "log: pool timeout after 30s",
        "ou_li",
    ):
        assert expected in shown


def _aegis(nats_url: str, *words: str) -> str:
    """The `aegis` CLI as an operator runs it; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "aegis.cli", "--nats-url", nats_url, *words],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout
