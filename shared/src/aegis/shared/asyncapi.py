"""The AsyncAPI 3.0 description of every Aegis subject, generated from the contracts themselves.

`CHANNELS` says who publishes and who consumes each subject; payload schemas come from the
pydantic models. `python -m aegis.shared.asyncapi > docs/asyncapi.json` writes the committed
file, and a test fails when it is out of date.
"""

import json
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaProgress, RcaResult


@dataclass(frozen=True)
class Channel:
    """One subject (or subject pattern) with its payload, publishers and durable consumers."""

    name: str
    address: str
    payload: type[BaseModel] | None
    description: str
    publishers: tuple[str, ...]
    consumers: tuple[str, ...]
    parameters: tuple[str, ...] = ()


CHANNELS = (
    Channel(
        "alertFiring",
        "aegis.alert.firing",
        AlertGroupEvent,
        "An Alertmanager notification whose group still fires. Nats-Msg-Id: the event_id.",
        ("alert-ingest", "aegis publish alert"),
        ("notifier (notifier-alerts)",),
    ),
    Channel(
        "alertResolved",
        "aegis.alert.resolved",
        AlertGroupEvent,
        "An Alertmanager notification whose whole group resolved. Nats-Msg-Id: the event_id.",
        ("alert-ingest", "aegis publish alert"),
        ("notifier (notifier-alerts)",),
    ),
    Channel(
        "questionFeishu",
        "aegis.question.feishu",
        QuestionEvent,
        "A question asked in Feishu (@mention or Analyse button). Nats-Msg-Id: the Feishu event_id.",
        ("gateway-feishu",),
        ("rca-worker (rca-worker)", "notifier (notifier-ack)"),
    ),
    Channel(
        "questionApi",
        "aegis.question.api",
        QuestionEvent,
        "A question asked over POST /api/ops/analyze. Nats-Msg-Id: the request_id.",
        ("alert-ingest",),
        ("rca-worker (rca-worker)",),
    ),
    Channel(
        "questionCli",
        "aegis.question.cli",
        QuestionEvent,
        "A question asked with `aegis ask`. Nats-Msg-Id: the request_id.",
        ("aegis ask",),
        ("rca-worker (rca-worker)",),
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
        ("notifier (notifier-results, source feishu)", "alert-ingest (source api)", "aegis ask"),
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
        message_name = channel.payload.__name__ if channel.payload else "DeadLetter"
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
            "summary": "published by " + ", ".join(channel.publishers),
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
