"""The AsyncAPI 3.0 description of every Aegis subject, generated from the contracts themselves.

`CHANNELS` says who else publishes each subject and who listens without a durable consumer; the
services' publishes come from the publish table (`aegis.shared.publishing.PUBLISHES`), with their
dedup id and ack timeout, and the durable consumers from the consumer table
(`aegis.shared.consumers.CONSUMERS`), with their ack wait and delivery budget; payload schemas
come from the pydantic models.
`python -m aegis.shared.asyncapi > docs/asyncapi.json` writes the committed
file, and a test fails when it is out of date.
"""

import json
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.consumers import CONSUMERS, ConsumerSpec
from aegis.shared.publishing import PUBLISHES, PublishSpec
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaProgress, RcaResult


@dataclass(frozen=True)
class Channel:
    """One subject (or subject pattern) with its payload, other publishers and non-durable listeners."""

    name: str
    address: str
    payload: type[BaseModel] | None
    description: str
    publishers: tuple[str, ...]
    listeners: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    message: str = "DeadLetter"  # the message's name when it has no payload model

    @property
    def senders(self) -> tuple[str, ...]:
        """Publishes from the table, then the other publishers."""
        table = tuple(_sent(spec) for spec in PUBLISHES if _overlaps(self.address, spec.subjects))
        return table + self.publishers

    @property
    def consumers(self) -> tuple[str, ...]:
        """Durable consumers from the table, then the listeners."""
        durable = tuple(_described(spec) for spec in CONSUMERS if _overlaps(self.address, spec.subjects))
        return durable + self.listeners


def _described(spec: ConsumerSpec) -> str:
    budget = spec.budget
    return (
        f"{spec.service} ({spec.durable}: ack wait {budget.ack_wait_s:g} s, "
        f"{budget.max_deliver} deliveries, then dead-lettered)"
    )


def _sent(spec: PublishSpec) -> str:
    wait = f"{spec.timeout_setting}, {spec.ack_timeout_s:g} s"
    return f"{spec.service} (Nats-Msg-Id: {spec.dedup_id}; ack awaited up to {wait}, else retried)"


def _overlaps(address: str, patterns: tuple[str, ...]) -> bool:
    """Whether a subject matched by one of `patterns` can be on `address` (`{x}` is one token)."""

    def token_match(left: list[str], right: list[str]) -> bool:
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            if ">" in (a, b):
                return True
            if a != b and "*" not in (a, b) and not a.startswith("{"):
                return False
            if index == len(left) - 1 or index == len(right) - 1:
                return len(left) == len(right)
        return len(left) == len(right)

    return any(token_match(address.split("."), pattern.split(".")) for pattern in patterns)


CHANNELS = (
    Channel(
        "alertFiring",
        "aegis.alert.firing",
        AlertGroupEvent,
        "An Alertmanager notification whose group still fires. Nats-Msg-Id: the event_id.",
        ("aegis publish alert",),
    ),
    Channel(
        "alertResolved",
        "aegis.alert.resolved",
        AlertGroupEvent,
        "An Alertmanager notification whose whole group resolved. Nats-Msg-Id: the event_id.",
        ("aegis publish alert",),
    ),
    Channel(
        "questionFeishu",
        "aegis.question.feishu",
        QuestionEvent,
        "A question asked in Feishu (@mention or Analyse button). Nats-Msg-Id: the Feishu event_id.",
        (),
        ("rca-worker (core subscription: API work makes way while it is picked up)",),
    ),
    Channel(
        "questionApi",
        "aegis.question.api",
        QuestionEvent,
        "A question asked over POST /api/ops/analyze. Nats-Msg-Id: the request_id.",
        (),
    ),
    Channel(
        "questionCancel",
        "aegis.question.cancel.{request_id}",
        None,
        "Empty: the streaming API client of this question went away; the worker drops its analysis "
        "(stored, so a question not started yet is dropped when it comes). Nats-Msg-Id: cancel-<request_id>.",
        (),
        ("rca-worker (core subscription, and a look-up before each API analysis)",),
        ("request_id",),
        "QuestionCancel",
    ),
    Channel(
        "questionCli",
        "aegis.question.cli",
        QuestionEvent,
        "A question asked with `aegis ask`. Nats-Msg-Id: the request_id.",
        ("aegis ask",),
    ),
    Channel(
        "rcaProgress",
        "aegis.rca.progress.{request_id}",
        RcaProgress,
        "Each step of one analysis, as it starts and ends.",
        ("rca-worker",),
        ("notifier (core subscription)", "alert-ingest (SSE)", "aegis ask"),
        ("request_id",),
    ),
    Channel(
        "rcaResult",
        "aegis.rca.result.{source}",
        RcaResult,
        "The answer to one question, routed back to where it was asked. Nats-Msg-Id: result-<request_id>.",
        ("rca-worker",),
        ("alert-ingest (core subscription, source api)", "aegis ask (core subscription, source cli)"),
        ("source",),
    ),
    Channel(
        "deadLetters",
        "aegis.dlq.{subject}",
        None,
        "A message that could not be handled: the original bytes and headers, plus Aegis-Dlq-Reason, "
        "-Subject, -Stream, -Stream-Seq, -Consumer, -Deliveries and -Failed-At headers.",
        ("notifier", "rca-worker"),
        ("operators: aegis dlq list | show | replay",),
        ("subject",),
    ),
)


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (AlertGroupEvent, QuestionEvent, RcaProgress, RcaResult):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return dict(sorted(schemas.items()))


def document() -> dict[str, Any]:
    """The AsyncAPI document."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel in CHANNELS:
        message_name = channel.payload.__name__ if channel.payload else channel.message
        messages[message_name] = {
            "name": message_name,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{message_name}"} if channel.payload else {},
        }
        channels[channel.name] = {
            "address": channel.address,
            "description": channel.description,
            "messages": {message_name: {"$ref": f"#/components/messages/{message_name}"}},
            **(
                {"parameters": {p: {"description": p} for p in channel.parameters}}
                if channel.parameters
                else {}
            ),
        }
        ref = {"$ref": f"#/channels/{channel.name}"}
        operations[f"publish_{channel.name}"] = {
            "action": "send",
            "channel": ref,
            "summary": "published by " + ", ".join(channel.senders),
        }
        operations[f"consume_{channel.name}"] = {
            "action": "receive",
            "channel": ref,
            "summary": "consumed by " + ", ".join(channel.consumers),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Aegis",
            "version": "0.1.0",
            "description": "Events between Aegis's services over NATS JetStream (streams AEGIS_ALERTS, "
            "AEGIS_QUESTIONS, AEGIS_RCA, AEGIS_DLQ). Every payload carries schema_version.",
        },
        "defaultContentType": "application/json",
        "servers": {"nats": {"host": "nats:4222", "protocol": "nats", "description": "NATS_URL"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def render() -> str:
    """The committed form: JSON, two-space indented, keys in a stable order."""
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
