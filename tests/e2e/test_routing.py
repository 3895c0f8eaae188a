"""Routing and mentions end to end: the real Alertmanager → alert-ingest → NATS → notifier → Feishu."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client
from pydantic import SecretStr

from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.fakes.feishu import CONTACT_BATCH_GET_ID_PATH, FakeFeishu
from aegis.devkit.harness.alertmanager import Alertmanager
from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.ingest_server import serving_ingest
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for

TOKEN = "s3cret-webhook-token"
AT_ALL = "<at id=all></at>"

ROUTES = """\
routes:
  - name: payments
    matchers: ['team="payments"']
    chats: [oc_payments]
    mention: {label: owner}
    continue: true
  - name: search
    matchers: ['team=~"search|index"', 'env!="staging"']
    chats: [oc_search]
    mention:
      users: [alice@example.com, bob@example.com]
      at_all_severities: [critical]
  - name: critical-payments
    matchers: ['team="payments"', 'severity="critical"']
    chats: [oc_incidents]
"""


async def test_groups_land_in_their_teams_chats_with_their_people(
    tmp_path: Path, nats_url: str, nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """Two teams' groups reach two chats with different mentions; an unrouted one reaches the default chat."""
    binary = require_binary(
        "prometheus-alertmanager", "alertmanager", package="Debian's prometheus-alertmanager"
    )
    feishu.directory["alice@example.com"] = "ou_alice"
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    settings = IngestSettings(nats_url=nats_url, aegis_webhook_token=SecretStr(TOKEN), log_format="json")
    started = datetime.now(UTC)
    payment = {"alertname": "HighErrorRate", "service": "payment", "team": "payments", "owner": "ou_paula"}
    payment |= {"severity": "critical"}
    search = {"alertname": "HighLatency", "service": "search", "team": "search", "severity": "critical"}
    stray = {"alertname": "DiskFull", "service": "batch", "team": "data", "severity": "warning"}
    async with serving_ingest(settings) as ingest_url, run_notifier(notifier_routes_file=str(routes)):
        with Alertmanager(binary, f"{ingest_url}/alertmanager/webhook", TOKEN) as am:
            for labels in (payment, search, stray):
                await am.fire(labels, {"summary": f"{labels['service']} is unwell"}, started)
            chats = ("oc_payments", "oc_incidents", "oc_search", CHAT)
            await wait_for(lambda: all(feishu.sent(c) for c in chats), timeout=30, what="a card per chat")
            await am.fire(payment, {"summary": "payment is unwell"}, started, ends_at=datetime.now(UTC))
            await wait_for(
                lambda: all(
                    feishu.replies_to(feishu.posted(c)[0].message_id) for c in ("oc_payments", "oc_incidents")
                ),
                timeout=30,
                what="the resolve patched in both chats",
            )
    [to_payments] = feishu.posted("oc_payments")
    [to_incidents] = feishu.posted("oc_incidents")
    [to_search] = feishu.sent("oc_search")
    [to_default] = feishu.sent(CHAT)
    assert "HighErrorRate" in to_payments.content
    assert "<at id=ou_paula></at>" in to_payments.content
    assert AT_ALL not in to_payments.content
    assert "HighErrorRate" in to_incidents.content
    assert "<at id=ou_paula></at>" not in to_incidents.content
    assert "HighLatency" in to_search.content
    assert "<at id=ou_alice></at>" in to_search.content
    assert "@bob@example.com" in to_search.content
    assert AT_ALL in to_search.content
    assert "DiskFull" in to_default.content
    assert AT_ALL in to_default.content
    assert all(m.card()["header"]["template"] == "green" for m in (to_payments, to_incidents))
    assert len(feishu.calls(CONTACT_BATCH_GET_ID_PATH)) == 1  # emails looked up once, then cached
    for card in (to_payments, to_incidents):  # each card resolved in place, its own timeline under it
        [timeline] = feishu.replies_to(card.message_id)
        assert "HighErrorRate" in timeline.content


def test_an_invalid_routes_file_stops_start_up_naming_the_route(tmp_path: Path) -> None:
    """The notifier process exits 2 at start-up with the file, the route and the problem in one line."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.replace('env!="staging"', 'env~"staging"'))
    env = {"NOTIFIER_ROUTES_FILE": str(routes), "NOTIFIER_SINK": "console", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "aegis.notifier"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "NOTIFIER_ROUTES_FILE" in done.stderr
    assert f"routes file {routes}: route 2 'search'" in done.stderr
    assert 'env~"staging"' in done.stderr
