"""NATS users per service, least privilege, against a real nats-server loading the committed
authorization file: forged publishes are refused, the services still do all their work."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError

from aegis.cli.dead_letters import letters
from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import alert_event
from aegis.devkit.harness.nats_auth import PASSWORDS, secured_nats_server
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.notifier_runner import CHAT, notifier_settings, running_notifier
from aegis.devkit.harness.waiting import wait_for
from aegis.shared.claims import card_key, claim_key
from aegis.shared.nats_access import access_of, authorization_block
from aegis.shared.questions import QuestionEvent, ReplyTo
from aegis.shared.streams import (
    ALERTS_STREAM,
    CLAIMS_BUCKET,
    FEISHU_EVENTS_BUCKET,
    MESSAGES_BUCKET,
    QUESTIONS_STREAM,
    RCA_STREAM,
    Topology,
    ensure_bucket,
    ensure_streams,
)
from aegis.shared.subjects import alert_subject, question_subject, result_subject

AUTHORIZATION = Path(__file__).parents[2] / "deploy" / "helm" / "aegis" / "files" / "nats-authorization.conf"


def test_the_committed_authorization_file_is_generated_from_the_table() -> None:
    """deploy/helm/aegis/files/nats-authorization.conf is what `python -m aegis.shared.nats_access` writes."""
    assert AUTHORIZATION.read_text(encoding="utf-8") == authorization_block()


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server with JetStream and exactly the chart's authorization block."""
    with secured_nats_server(tmp_path / "nats") as server:
        yield server


class Connected:
    """A connection as one user, with the permission errors the server sent it."""

    def __init__(self, client: Client, refusals: list[str]) -> None:
        self.client = client
        self.refusals = refusals


Connect = Callable[[str], Awaitable[Connected]]


@pytest.fixture
async def connect(secured_nats: NatsServer) -> AsyncIterator[Connect]:
    opened: list[Client] = []

    async def as_user(user: str) -> Connected:
        refusals: list[str] = []

        async def on_error(error: Exception) -> None:
            refusals.append(str(error))

        client = await nats.connect(
            secured_nats.url,
            user=user,
            password=PASSWORDS[user],
            error_cb=on_error,
            allow_reconnect=False,
        )
        opened.append(client)
        return Connected(client, refusals)

    yield as_user
    for client in opened:
        await client.close()


async def stored(client: Client, stream: str) -> int:
    return int((await client.jetstream().stream_info(stream)).state.messages)


async def test_no_credentials_or_a_wrong_password_cannot_connect(secured_nats: NatsServer) -> None:
    """Anonymous or with another service's password: the server refuses the connection."""
    for options in ({}, {"user": "notifier", "password": PASSWORDS["alert-ingest"]}):
        with pytest.raises((NatsError, OSError)):
            await nats.connect(secured_nats.url, allow_reconnect=False, max_reconnect_attempts=0, **options)


async def test_forged_publishes_are_refused_and_store_nothing(connect: Connect) -> None:
    """The gateway cannot post an alert, the notifier no answer, ingest no Feishu question, the
    worker no alert: each is refused by the server and nothing reaches a stream."""
    ingest = await connect("alert-ingest")
    await ensure_streams(ingest.client.jetstream(), Topology())
    forged = {
        "gateway-feishu": (alert_subject("firing"), ALERTS_STREAM),
        "notifier": (result_subject("feishu"), RCA_STREAM),
        "rca-worker": (alert_subject("firing"), ALERTS_STREAM),
    }
    for user, (subject, _) in forged.items():
        who = await connect(user)
        await who.client.publish(subject, b'{"forged": true}')
        await who.client.flush()
        await wait_for(partial(getattr, who, "refusals"), timeout=5, what=f"{user}'s refusal")
        assert f'permissions violation for publish to "{subject}"' in who.refusals[0], who.refusals
    await ingest.client.publish(question_subject("feishu"), b'{"forged": true}')
    await ingest.client.flush()
    await wait_for(lambda: ingest.refusals, timeout=5, what="alert-ingest's refusal")
    admin = await connect("operator")
    for stream in (ALERTS_STREAM, RCA_STREAM, QUESTIONS_STREAM):
        assert await stored(admin.client, stream) == 0
    assert set(access_of("alert-ingest").publish) >= {"aegis.alert.*", "aegis.question.api"}


async def test_each_service_does_its_own_work_with_its_own_user(
    connect: Connect, secured_nats: NatsServer, feishu: FakeFeishu
) -> None:
    """Ingest stores an alert; the notifier (as `notifier`) shows it and dead-letters a refused one;
    the gateway remembers an event and publishes a question, which the notifier acknowledges."""
    ingest = await connect("alert-ingest")
    gateway = await connect("gateway-feishu")
    settings = notifier_settings(
        secured_nats.url, feishu, nats_user="notifier", nats_password=PASSWORDS["notifier"]
    )
    asked = feishu.user_message(CHAT, "@Aegis payment?")
    async with running_notifier(settings):
        js = ingest.client.jetstream()
        await ensure_streams(js, Topology())
        await js.publish(alert_subject("firing"), alert_event(name="Allowed").model_dump_json().encode())
        await wait_for(lambda: feishu.sent(CHAT), timeout=20, what="the alert card")
        feishu.fail_next(2, status=400, code=230002)  # bot not in the chat: the card, and again without @all
        await js.publish(alert_subject("firing"), alert_event(name="Refused").model_dump_json().encode())
        admin = await connect("operator")
        for _ in range(200):
            if await letters(admin.client.jetstream()):
                break
            await asyncio.sleep(0.05)
        seen = await ensure_bucket(gateway.client.jetstream(), FEISHU_EVENTS_BUCKET, Topology())
        await seen.create("evt_1", b"q-auth")
        question = QuestionEvent(
            request_id="q-auth",
            source="feishu",
            text="payment?",
            reply_to=ReplyTo(chat_id=CHAT, message_id=asked.message_id),
        )
        await gateway.client.jetstream().publish(
            question_subject("feishu"), question.model_dump_json().encode()
        )
        await wait_for(lambda: feishu.replies_to(asked.message_id), timeout=20, what="the acknowledgement")
        # A claim click: the gateway creates the claim and reads the card the notifier kept.
        card_id = feishu.posted(CHAT)[0].message_id
        claims = await ensure_bucket(gateway.client.jetstream(), CLAIMS_BUCKET, Topology())
        await claims.create(claim_key(card_id), b"{}")
        kept = await ensure_bucket(gateway.client.jetstream(), MESSAGES_BUCKET, Topology())
        assert "Allowed" in ((await kept.get(card_key(card_id))).value or b"").decode()
    (letter,) = await letters(admin.client.jetstream())
    assert json.loads(letter.data)["common_labels"]["alertname"] == "Refused"
    for who in (ingest, gateway):
        assert who.refusals == []
