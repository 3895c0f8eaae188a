"""The alert path through every real part: Alertmanager → alert-ingest → NATS → notifier → Feishu."""

from datetime import UTC, datetime

import httpx
from nats.aio.client import Client
from pydantic import SecretStr

from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alertmanager import Alertmanager
from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.ingest_server import serving_ingest
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for

TOKEN = "s3cret-webhook-token"


async def test_alert_fired_in_alertmanager_reaches_the_chat_once_and_resolves(
    nats_url: str, nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A real Alertmanager's webhook ends as exactly one card with @all; its resolve patches that card."""
    binary = require_binary(
        "prometheus-alertmanager", "alertmanager", package="Debian's prometheus-alertmanager"
    )
    settings = IngestSettings(nats_url=nats_url, aegis_webhook_token=SecretStr(TOKEN), log_format="json")
    async with serving_ingest(settings) as ingest_url, run_notifier():
        async with httpx.AsyncClient() as http:
            assert (await http.post(f"{ingest_url}/alertmanager/webhook", json={})).status_code == 401
        with Alertmanager(binary, f"{ingest_url}/alertmanager/webhook", TOKEN) as alertmanager:
            labels = {"alertname": "PaymentHighErrorRate", "service": "payment", "severity": "critical"}
            annotations = {"summary": "payment 5xx ratio above 5%"}
            started = datetime.now(UTC)
            await alertmanager.fire(labels, annotations, started)
            await wait_for(lambda: feishu.sent(CHAT), timeout=20, what="the alert card")
            await alertmanager.fire(labels, annotations, started, ends_at=datetime.now(UTC))
            await wait_for(lambda: feishu.sent(CHAT)[0].patches, timeout=20, what="the resolve patch")
    [message] = feishu.posted(CHAT)  # (its thread holds the timeline)
    firing = message.content
    for expected in (
        "PaymentHighErrorRate",
        "CRITICAL",
        "service=`payment`",
        "payment 5xx ratio above 5%",
        "<at id=all></at>",
    ):
        assert expected in firing
    assert message.card()["header"]["template"] == "green"
