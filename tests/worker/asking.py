"""Asking the worker questions and reading its answers the way the other services do: over NATS."""

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaProgress, RcaResult
from aegis.shared.streams import DLQ_STREAM, RCA_STREAM
from aegis.shared.subjects import QuestionSource, question_subject, result_subject
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.offline import scenario_window
from aegis.simulator.telemetry import ScenarioTelemetry


@dataclass
class Backends:
    """The loopback Prometheus, Loki and Jaeger of the incident."""

    prometheus: LoopbackServer
    loki: LoopbackServer
    jaeger: LoopbackServer

    def urls(self) -> dict[str, str]:
        """Settings fields pointing at the three."""
        return {
            "prometheus_base_url": self.prometheus.url,
            "loki_base_url": self.loki.url,
            "jaeger_base_url": self.jaeger.url,
        }

    def all(self) -> list[LoopbackServer]:
        """The three servers."""
        return [self.prometheus, self.loki, self.jaeger]

    def writes(self) -> list[tuple[str, str]]:
        """Every request any backend received that was not a GET (there must be none)."""
        return [(m, p) for server in self.all() for m, p, _ in server.requests if m != "GET"]

    def reset(self) -> None:
        """Back to answering at once, correctly."""
        for server in self.all():
            server.mode, server.latency_s = "ok", 0.0


def question(
    incident: ScenarioTelemetry,
    text: str = "payment 5xx went up, why?",
    source: QuestionSource = "cli",
    **fields: Any,
) -> QuestionEvent:
    """A question about the incident's time range."""
    values: dict[str, Any] = {
        "request_id": f"q-{uuid.uuid4().hex[:12]}",
        "source": source,
        "text": text,
        "window": scenario_window(incident),
        **fields,
    }
    return QuestionEvent(**values)


async def ask(client: Client, event: QuestionEvent) -> None:
    """Publish like the gateway and the CLI do, with `Nats-Msg-Id`."""
    await client.jetstream().publish(
        question_subject(event.source),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.request_id},
    )


async def stored(client: Client, stream: str, subject: str) -> list[tuple[bytes, dict[str, str]]]:
    """Every message the stream holds on `subject` (data, headers), oldest first."""
    js = client.jetstream()
    info = await js.stream_info(stream, subjects_filter=subject)
    total = sum((info.state.subjects or {}).values())
    if not total:
        return []
    sub = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0),
    )
    found: list[tuple[bytes, dict[str, str]]] = []
    while len(found) < total:
        for msg in await sub.fetch(batch=total - len(found), timeout=2.0):
            found.append((msg.data, dict(msg.headers or {})))
            await msg.ack()
    await sub.unsubscribe()
    return found


async def results(client: Client, source: QuestionSource = "cli") -> list[RcaResult]:
    """Every result stored on `aegis.rca.result.<source>`."""
    return [
        RcaResult.model_validate_json(data)
        for data, _ in await stored(client, RCA_STREAM, result_subject(source))
    ]


async def progress(client: Client, request_id: str) -> list[RcaProgress]:
    """Every progress event stored for `request_id`, in order."""
    subject = f"aegis.rca.progress.{request_id}"
    return [RcaProgress.model_validate_json(data) for data, _ in await stored(client, RCA_STREAM, subject)]


async def dead_letters(client: Client) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every dead letter (payload as JSON when it is, headers)."""
    found = []
    for data, headers in await stored(client, DLQ_STREAM, "aegis.dlq.>"):
        try:
            payload = json.loads(data)
        except ValueError:
            payload = {"raw": data.decode(errors="replace")}
        found.append((payload, headers))
    return found


async def answer_to(
    client: Client, request_id: str, source: QuestionSource = "cli", timeout: float = 20.0
) -> RcaResult:
    """Wait for the result of `request_id` to be stored, and return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [r for r in await results(client, source) if r.request_id == request_id]
        if found:
            return found[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no result for {request_id} within {timeout}s")
        await asyncio.sleep(0.1)
