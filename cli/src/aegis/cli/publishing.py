"""`aegis publish alert`: put an Alertmanager notification on NATS without Alertmanager.

Accepts either Alertmanager's webhook body (normalised exactly as alert-ingest does) or an
`AlertGroupEvent`, so a notifier can be tested, or a lost alert re-sent, by hand.
"""

import json
from datetime import UTC, datetime

from nats.aio.client import Client
from pydantic import ValidationError

from aegis.shared.alerts import AlertGroupEvent, AlertmanagerWebhook, normalise
from aegis.shared.settings import describe_validation_error
from aegis.shared.subjects import alert_subject


class InputError(Exception):
    """The file is not something `aegis publish alert` can publish; the message says why."""


def parse_alert(text: str) -> AlertGroupEvent:
    """An `AlertGroupEvent` from a webhook body or an event, or `InputError` naming the problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object (an Alertmanager webhook body or an AlertGroupEvent)")
    try:
        if "event_id" in data:
            return AlertGroupEvent.model_validate(data)
        return normalise(AlertmanagerWebhook.model_validate(data), datetime.now(UTC))
    except ValidationError as error:
        kind = "AlertGroupEvent" if "event_id" in data else "Alertmanager webhook"
        raise InputError(f"invalid {kind}: {describe_validation_error(error)}") from None


async def publish_alert(client: Client, event: AlertGroupEvent) -> bool:
    """Publish with the same dedup id alert-ingest would use; True when JetStream saw it before."""
    ack = await client.jetstream().publish(
        alert_subject(event.status),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.event_id},
    )
    return bool(ack.duplicate)
