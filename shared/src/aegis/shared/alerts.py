"""Alertmanager's webhook payload (version 4) and the `AlertGroupEvent` Aegis publishes for it.

Parsing and normalising are pure: alert-ingest validates at the door and the CLI reuses the same
models to publish test alerts, so both produce byte-identical events and identical dedup ids.
"""

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from aegis.shared.bounds import RequestId, UtcDatetime
from aegis.shared.subjects import AlertStatus

# Alertmanager marks "not ended" with Go's zero time.
_GO_ZERO_TIME_YEAR = 1

Labels = dict[str, str]


class WebhookAlert(BaseModel):
    """One alert as Alertmanager's webhook sends it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    status: AlertStatus
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: UtcDatetime = Field(alias="startsAt")
    ends_at: UtcDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class AlertmanagerWebhook(BaseModel):
    """The JSON body of an Alertmanager webhook notification (`version` "4")."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    version: Literal["4"]
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


def _fingerprint(alert: WebhookAlert) -> str:
    if alert.fingerprint:
        return alert.fingerprint
    canonical = "\x1f".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _ended(value: datetime | None) -> datetime | None:
    if value is None or value.year <= _GO_ZERO_TIME_YEAR:
        return None
    return value


def alert_event_id(webhook: AlertmanagerWebhook) -> str:
    """The `Nats-Msg-Id` of a notification: same group, status and alerts → same id.

    Alertmanager retries a failed webhook with the identical body; this id lets JetStream drop the
    retry while any real change (an alert joining, ending, or restarting) yields a new id.
    """
    parts = [webhook.group_key, webhook.status]
    for alert in sorted(webhook.alerts, key=_fingerprint):
        ends = _ended(alert.ends_at)
        parts.append(
            f"{_fingerprint(alert)}|{alert.status}|{alert.starts_at.isoformat()}|"
            f"{ends.isoformat() if ends else ''}"
        )
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:40]


def normalise(webhook: AlertmanagerWebhook, received_at: datetime) -> AlertGroupEvent:
    """The `AlertGroupEvent` for one webhook notification."""
    # Validated from plain values in one call into pydantic-core: on alert-ingest's hot path this
    # is cheaper than nested constructors, and cheaper than `model_construct` (pure Python).
    return AlertGroupEvent.model_validate(
        {
            "event_id": alert_event_id(webhook),
            "received_at": received_at,
            "receiver": webhook.receiver,
            "status": webhook.status,
            "group_key": webhook.group_key,
            "truncated_alerts": webhook.truncated_alerts,
            "group_labels": webhook.group_labels,
            "common_labels": webhook.common_labels,
            "common_annotations": webhook.common_annotations,
            "external_url": webhook.external_url,
            "alerts": [
                {
                    "fingerprint": _fingerprint(alert),
                    "status": alert.status,
                    "labels": alert.labels,
                    "annotations": alert.annotations,
                    "starts_at": alert.starts_at,
                    "ends_at": _ended(alert.ends_at),
                    "generator_url": alert.generator_url,
                }
                for alert in webhook.alerts
            ],
        }
    )
