"""Alertmanager's webhook payload (version 4) and the `AlertGroupEvent` Aegis publishes for it.

Parsing and normalising are pure: alert-ingest validates at the door and the CLI reuses the same
models to publish test alerts, so both produce the same events and identical dedup ids.

Normalising happens inside the one validation of the webhook (times to UTC, Go's zero `endsAt` to
None, a missing fingerprint filled in), so the validated webhook already holds the event's values
under the event's field names: `event_json` writes the event from it without validating again.
alert-ingest validates each body once and publishes those bytes (bench/ingest.py measured the
second validation and the event model's dump at a third of the webhook's own CPU).
"""

import hashlib
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from aegis.shared.bounds import RequestId, UtcDatetime, to_utc
from aegis.shared.subjects import AlertStatus

# Alertmanager marks "not ended" with Go's zero time.
_GO_ZERO_TIME_YEAR = 1

Labels = dict[str, str]


def _ended(value: datetime | None) -> datetime | None:
    if value is None or value.year <= _GO_ZERO_TIME_YEAR:
        return None
    return value


def _label_fingerprint(labels: Labels) -> str:
    canonical = "\x1f".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class WebhookAlert(BaseModel):
    """One alert as Alertmanager's webhook sends it, normalised: `ends_at` is None while it fires
    (Go's zero time), the fingerprint always set (from the labels when the sender gave none)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    status: AlertStatus
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: UtcDatetime = Field(alias="startsAt")
    ends_at: Annotated[UtcDatetime | None, AfterValidator(_ended)] = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    @model_validator(mode="after")
    def _fingerprinted(self) -> Self:
        if not self.fingerprint:
            self.fingerprint = _label_fingerprint(self.labels)
        return self


class AlertmanagerWebhook(BaseModel):
    """The JSON body of an Alertmanager webhook notification (`version` "4").

    Its fields are named as the `AlertGroupEvent`'s (the camelCase names are the aliases it is read
    by), and `version` is left out of a dump: `event_json` relies on both.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    version: Literal["4"] = Field(exclude=True)
    group_key: Annotated[str, Field(min_length=1, alias="groupKey")]
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: AlertStatus
    receiver: str
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: Annotated[list[WebhookAlert], Field(min_length=1)]


class Alert(BaseModel):
    """One normalised alert: `ends_at` is None while it fires, the fingerprint always set."""

    fingerprint: str
    status: AlertStatus
    labels: Labels
    annotations: Labels
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None
    generator_url: str

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


class AlertGroupEvent(BaseModel):
    """One Alertmanager notification, as published on `aegis.alert.{firing|resolved}`."""

    schema_version: Literal[1] = 1
    # Part of KV keys and Feishu uuids: bounded to safe characters like a request id.
    event_id: RequestId
    received_at: UtcDatetime
    receiver: str
    status: AlertStatus
    group_key: str
    truncated_alerts: int = 0
    group_labels: Labels
    common_labels: Labels
    common_annotations: Labels
    external_url: str
    alerts: Annotated[list[Alert], Field(min_length=1)]

    @property
    def alertname(self) -> str:
        return self.common_labels.get("alertname") or self.alerts[0].alertname

    @property
    def severity(self) -> str:
        return self.common_labels.get("severity") or self.alerts[0].severity

    @property
    def group_id(self) -> str:
        """A short stable key for the alert group (groupKey hashed), safe as a NATS KV key."""
        return hashlib.sha256(self.group_key.encode()).hexdigest()[:32]


def alert_event_id(webhook: AlertmanagerWebhook) -> str:
    """The `Nats-Msg-Id` of a notification: same group, status and alerts → same id.

    Alertmanager retries a failed webhook with the identical body; this id lets JetStream drop the
    retry while any real change (an alert joining, ending, or restarting) yields a new id.
    """
    parts = [webhook.group_key, webhook.status]
    for alert in sorted(webhook.alerts, key=_by_fingerprint):
        ends = alert.ends_at
        parts.append(
            f"{alert.fingerprint}|{alert.status}|{alert.starts_at.isoformat()}|"
            f"{ends.isoformat() if ends else ''}"
        )
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:40]


def _by_fingerprint(alert: WebhookAlert) -> str:
    return alert.fingerprint


def event_json(webhook: AlertmanagerWebhook, received_at: datetime) -> tuple[str, bytes]:
    """The event id and the `AlertGroupEvent` JSON for one notification.

    The validated webhook dumps as the event's body (same field names, already normalised); the
    event's own fields are written in front of it. The id is hex and the time ISO 8601: neither
    needs escaping.
    """
    event_id = alert_event_id(webhook)
    head = f'{{"schema_version":1,"event_id":"{event_id}","received_at":"{to_utc(received_at).isoformat()}",'
    return event_id, head.encode() + webhook.model_dump_json().encode()[1:]


def normalise(webhook: AlertmanagerWebhook, received_at: datetime) -> AlertGroupEvent:
    """The `AlertGroupEvent` for one webhook notification: the one `event_json` writes."""
    return AlertGroupEvent.model_validate_json(event_json(webhook, received_at)[1])
