"""The `aegis` command: publish an alert by hand, watch it pass, reject what is not an alert."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from aegis.cli.__main__ import main
from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import alert_event, webhook_payload
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier, publish
from aegis.devkit.harness.waiting import wait_for
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.streams import ALERTS_STREAM, DLQ_STREAM

DEMO_ALERT = Path(__file__).resolve().parents[2] / "demo" / "alert.json"


async def test_publish_alert_puts_the_event_on_nats_once(nats_url: str, nats_client: Client) -> None:
    """`aegis publish alert FILE` twice stores one AlertGroupEvent; the second says it was deduplicated."""
    run = [sys.executable, "-m", "aegis.cli", "--nats-url", nats_url, "publish", "alert", str(DEMO_ALERT)]
    first = await asyncio.to_thread(subprocess.run, run, capture_output=True, text=True, check=False)
    second = await asyncio.to_thread(subprocess.run, run, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("published: firing PaymentHighErrorRate")
    assert "deduplicated" in second.stdout
    stored = await nats_client.jetstream().get_last_msg(ALERTS_STREAM, "aegis.alert.firing")
    event = AlertGroupEvent.model_validate_json(stored.data or b"")
    assert event.common_labels["service"] == "payment"
    info = await nats_client.jetstream().stream_info(ALERTS_STREAM)
    assert info.state.messages == 1


async def test_tail_prints_events_as_they_pass(nats_url: str, nats_client: Client) -> None:
    """`aegis tail aegis.alert.> --count 1` prints the subject and the event."""
    tail = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aegis.cli",
        "--nats-url",
        nats_url,
        "tail",
        "aegis.alert.>",
        "--count",
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    # Publish until the tail has seen one: its start-up takes longer on a loaded machine.
    finished = asyncio.ensure_future(tail.communicate())
    for _ in range(30):
        await nats_client.publish("aegis.alert.firing", json.dumps({"hello": "tail"}).encode())
        done, _ = await asyncio.wait({finished}, timeout=0.5)
        if done:
            break
    out, _ = await asyncio.wait_for(finished, timeout=15)
    assert tail.returncode == 0
    assert out.decode().strip() == 'aegis.alert.firing  {"hello":"tail"}'


def test_publish_rejects_what_is_not_an_alert(tmp_path: Path, capsys: object) -> None:
    """A file that is no webhook body exits 2 naming the bad field, without touching NATS."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**webhook_payload(), "alerts": []}))
    assert main(["--nats-url", "nats://127.0.0.1:1", "publish", "alert", str(bad)]) == 2
    missing = main(["--nats-url", "nats://127.0.0.1:1", "publish", "alert", str(tmp_path / "nope.json")])
    assert missing == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "invalid Alertmanager webhook: ALERTS" in err
    assert "cannot read" in err


async def test_ask_prints_progress_then_the_answer(nats_url: str, nats_client: Client) -> None:
    """`aegis ask` publishes on aegis.question.cli, prints each progress step, then the answer."""
    from aegis.shared.questions import QuestionEvent
    from aegis.shared.rca import RcaProgress, RcaResult, RootCauseCandidate

    async def answer(msg: Msg) -> None:
        question = QuestionEvent.model_validate_json(msg.data)
        assert question.services == ["payment"]
        for step in ("scope", "collect"):
            progress = RcaProgress(request_id=question.request_id, step=step, status="done")
            await nats_client.publish(
                f"aegis.rca.progress.{question.request_id}", progress.model_dump_json().encode()
            )
        result = RcaResult(
            request_id=question.request_id,
            source="cli",
            summary="Most likely root cause: payment-db",
            root_causes=[
                RootCauseCandidate(rank=1, service="payment-db", hypothesis="pool exhausted", confidence=0.8)
            ],
        )
        await nats_client.publish("aegis.rca.result.cli", result.model_dump_json().encode())

    await nats_client.subscribe("aegis.question.cli", cb=answer)
    await nats_client.flush()
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "aegis.cli",
            "--nats-url",
            nats_url,
            "ask",
            "payment 5xx?",
            "--service",
            "payment",
            "--since",
            "30m",
            "--timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "… scope done"
    assert lines[1] == "… collect done"
    assert "Most likely root cause: payment-db" in done.stdout
    assert "#1 payment-db  80%  pool exhausted" in done.stdout


def test_ask_rejects_a_bad_since(capsys: pytest.CaptureFixture[str]) -> None:
    """`--since soon` exits 2 saying which forms are accepted."""
    assert main(["--nats-url", "nats://127.0.0.1:1", "ask", "q", "--since", "soon"]) == 2
    assert "expected a positive number with s, m, h or d" in capsys.readouterr().err


async def test_dead_letters_can_be_listed_shown_and_replayed_once(
    nats_url: str, nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A refused alert lands in the DLQ; `aegis dlq list/show` explain it; `replay` delivers it once."""
    feishu.fail_next(2, status=400, code=230002)  # bot not in the chat: the card, and again without @all
    async with run_notifier():
        await publish(nats_client, alert_event(name="ReplayMe"))
        await wait_for(lambda: feishu.calls(), what="the refused send")
        js = nats_client.jetstream()
        await wait_for_dead_letter(js)

        def cli(*words: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "aegis.cli", "--nats-url", nats_url, "dlq", *words]
            return subprocess.run(command, capture_output=True, text=True, check=False)

        listed = await asyncio.to_thread(cli, "list")
        assert listed.returncode == 0, listed.stderr
        assert "aegis.alert.firing" in listed.stdout
        assert "HTTP 400" in listed.stdout
        seq = listed.stdout.splitlines()[1].split()[0]
        shown = await asyncio.to_thread(cli, "show", seq)
        assert "ReplayMe" in shown.stdout
        assert "deliveries: 1" in shown.stdout
        replayed = await asyncio.to_thread(cli, "replay", seq, "--keep")
        again = await asyncio.to_thread(cli, "replay", seq)
        assert "replayed" in replayed.stdout
        assert "already replayed before" in again.stdout
        await wait_for(lambda: feishu.sent(CHAT), what="the replayed card")
        await asyncio.sleep(1)
    assert len(feishu.sent(CHAT)) == 1
    assert "ReplayMe" in feishu.sent(CHAT)[0].content
    assert "no dead letters" in (await asyncio.to_thread(cli, "list")).stdout


async def wait_for_dead_letter(js: JetStreamContext) -> None:
    for _ in range(200):
        if (await js.stream_info(DLQ_STREAM)).state.messages:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no dead letter within 10 s")


async def test_dlq_list_on_a_system_that_never_dead_lettered_says_there_are_none(nats_url: str) -> None:
    """A fresh dead-letter stream (first sequence 0) is listed as empty, not a BadRequestError."""
    command = [sys.executable, "-m", "aegis.cli", "--nats-url", nats_url, "dlq", "list"]
    listed = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "no dead letters"
    assert "Traceback" not in listed.stderr
