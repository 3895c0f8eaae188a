"""The probe's reproductions against the notifier: no message stops a loop, poison is dead-lettered
with its reason, and the message behind it is still delivered."""

import json

from nats.aio.client import Client

from aegis.cli.dead_letters import StoredLetter, letters
from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import T0, webhook_payload
from aegis.devkit.harness.notifier_runner import CHAT, RunNotifier
from aegis.devkit.harness.waiting import wait_for
from aegis.shared.alerts import AlertmanagerWebhook, normalise
from aegis.shared.subjects import alert_subject, question_subject, result_subject
from tests.notifier.test_question_replies import answer, question


async def dead_letters_of(client: Client, subject: str) -> list[StoredLetter]:
    return await letters(client.jetstream(), subject)


def mixed_zone_event(name: str) -> bytes:
    """An AlertGroupEvent as an older alert-ingest stored it: one alert's times without a zone."""
    payload = webhook_payload(name=name, alerts=2)
    event = json.loads(normalise(AlertmanagerWebhook.model_validate(payload), T0).model_dump_json())
    event["alerts"][1]["starts_at"] = "2026-11-24T09:40:00"
    event["received_at"] = "2026-11-24T09:46:00"
    return json.dumps(event).encode()


async def test_alert_with_zoned_and_zone_less_times_is_shown_and_so_is_the_next(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """Mixed "…Z" and zone-less times once killed the alert loop; now both groups reach the chat."""
    js = nats_client.jetstream()
    async with run_notifier():
        await js.publish(alert_subject("firing"), mixed_zone_event("MixedZones"))
        await js.publish(alert_subject("firing"), mixed_zone_event("BehindIt"))
        await wait_for(
            lambda: all(any(n in m.current for m in feishu.sent(CHAT)) for n in ("MixedZones", "BehindIt")),
            timeout=20,
            what="both groups shown",
        )
    assert not await dead_letters_of(nats_client, alert_subject("firing"))


async def test_refused_answer_with_its_streams_header_is_dead_lettered_and_the_next_answered(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A result carries Nats-Expected-Stream; Feishu refuses it: a dead letter with the reason, not a
    dead loop, and the answer behind it still arrives."""
    js = nats_client.jetstream()
    recalled = feishu.user_message(CHAT, "@Aegis payment?")
    asked = feishu.user_message(CHAT, "@Aegis checkout?")
    headers = {"Nats-Expected-Stream": "AEGIS_RCA", "Nats-Msg-Id": "result-q-recalled"}
    async with run_notifier():
        feishu.fail_next(1, status=400)
        await js.publish(
            result_subject("feishu"),
            answer("q-recalled", recalled.message_id).model_dump_json().encode(),
            headers=headers,
        )
        await wait_for(lambda: len(feishu.calls()) >= 1, timeout=10, what="the refused reply")
        await js.publish(
            result_subject("feishu"),
            answer("q-next", asked.message_id).model_dump_json().encode(),
            headers={"Nats-Expected-Stream": "AEGIS_RCA", "Nats-Msg-Id": "result-q-next"},
        )
        await wait_for(lambda: feishu.replies_to(asked.message_id), timeout=20, what="the next answer")
    (letter,) = await dead_letters_of(nats_client, result_subject("feishu"))
    assert letter.letter.reason, "the dead letter says why"
    assert letter.letter.deliveries == 1
    assert "Nats-Expected-Stream" not in letter.headers
    assert letter.headers["Aegis-Original-Msg-Id"] == "result-q-recalled"


async def test_answer_whose_request_id_has_spaces_is_dead_lettered_and_the_next_answered(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A request id with spaces fails the contract: dead-lettered naming the field; the next is shown."""
    js = nats_client.jetstream()
    asked = feishu.user_message(CHAT, "@Aegis checkout?")
    hostile = json.loads(answer("q-ok", asked.message_id).model_dump_json())
    hostile["request_id"] = "q with spaces"
    async with run_notifier():
        await js.publish(result_subject("feishu"), json.dumps(hostile).encode())
        await js.publish(
            result_subject("feishu"), answer("q-ok", asked.message_id).model_dump_json().encode()
        )
        await wait_for(lambda: feishu.replies_to(asked.message_id), timeout=20, what="the good answer")
    (letter,) = await dead_letters_of(nats_client, result_subject("feishu"))
    assert "request_id" in letter.letter.reason


async def test_question_with_a_mixed_zone_window_is_acknowledged(
    nats_client: Client, feishu: FakeFeishu, run_notifier: RunNotifier
) -> None:
    """A window with one zone-less end is read as UTC: the question is acknowledged, nothing dies."""
    js = nats_client.jetstream()
    asked = feishu.user_message(CHAT, "@Aegis payment?")
    body = json.loads(question("q-window", asked.message_id).model_dump_json())
    body["window"] = {"start": "2026-11-24T09:45:00", "end": "2026-11-24T10:00:00Z"}
    async with run_notifier():
        await js.publish(question_subject("feishu"), json.dumps(body).encode())
        await wait_for(lambda: feishu.replies_to(asked.message_id), timeout=20, what="the acknowledgement")
    assert not await dead_letters_of(nats_client, question_subject("feishu"))
