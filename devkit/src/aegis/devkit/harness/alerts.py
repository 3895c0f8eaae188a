"""Sample Alertmanager notifications for tests, benchmarks and the demo."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from aegis.shared.alerts import AlertGroupEvent, AlertmanagerWebhook, normalise

T0 = datetime(2026, 11, 24, 9, 45, tzinfo=UTC)


def webhook_payload(
    name: str = "PaymentHighErrorRate",
    status: str = "firing",
    service: str = "payment",
    severity: str = "critical",
    alerts: int = 1,
    starts_at: datetime = T0,
    summary: str = "payment 5xx ratio above 5% for 5m",
) -> dict[str, Any]:
    """An Alertmanager v4 webhook body for one group of `alerts` alerts."""
    ends = (starts_at + timedelta(minutes=10)).isoformat() if status == "resolved" else "0001-01-01T00:00:00Z"
    group_labels = {"alertname": name, "service": service}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}", service="{service}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "aegis",
        "groupLabels": group_labels,
        "commonLabels": {**group_labels, "severity": severity, "namespace": "shop"},
        "commonAnnotations": {"summary": summary},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": {
                    **group_labels,
                    "severity": severity,
                    "namespace": "shop",
                    "pod": f"{service}-{i}",
                },
                "annotations": {"summary": summary, "description": f"pod {service}-{i} answers 5xx"},
                "startsAt": starts_at.isoformat(),
                "endsAt": ends,
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
                "fingerprint": hashlib.sha256(f"{name}/{service}/{i}".encode()).hexdigest()[:16],
            }
            for i in range(alerts)
        ],
    }


def alert_event(received_at: datetime | None = None, **kwargs: Any) -> AlertGroupEvent:
    """The `AlertGroupEvent` alert-ingest would publish for `webhook_payload(**kwargs)`."""
    webhook = AlertmanagerWebhook.model_validate(webhook_payload(**kwargs))
    return normalise(webhook, received_at or datetime.now(UTC))
