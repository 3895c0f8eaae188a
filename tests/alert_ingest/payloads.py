"""Alertmanager webhook bodies as Alertmanager (v0.27, webhook version 4) sends them."""

import json
from typing import Any

from aegis.shared.subjects import AlertStatus

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def alert(
    name: str = "PaymentHighErrorRate",
    *,
    status: AlertStatus = "firing",
    fingerprint: str = "8f2a6c1d0b9e7a54",
    service: str = "payment",
    starts_at: str = "2026-11-24T09:52:10.123Z",
    ends_at: str = GO_ZERO_TIME,
) -> dict[str, Any]:
    """One alert of a notification."""
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "critical", "service": service, "namespace": "shop"},
        "annotations": {
            "summary": f"{service} 5xx ratio above 5%",
            "description": "errors / requests > 0.05",
        },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28http_requests_total%5B5m%5D%29",
        "fingerprint": fingerprint,
    }


def webhook(
    *alerts: dict[str, Any],
    status: AlertStatus = "firing",
    group_key: str = '{}:{alertname="PaymentHighErrorRate"}',
    receiver: str = "aegis",
) -> dict[str, Any]:
    """A notification carrying `alerts` (one default alert when none are given)."""
    items = list(alerts) or [alert(status=status)]
    return {
        "receiver": receiver,
        "status": status,
        "alerts": items,
        "groupLabels": {"alertname": items[0]["labels"]["alertname"]},
        "commonLabels": items[0]["labels"],
        "commonAnnotations": items[0]["annotations"],
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }


def numbered_webhook(number: int) -> dict[str, Any]:
    """A distinct notification per `number` (its own group and fingerprint), so none deduplicates."""
    return webhook(
        alert(fingerprint=f"{number:016x}", service=f"svc-{number}"),
        group_key=f'{{}}:{{alertname="PaymentHighErrorRate",service="svc-{number}"}}',
    )


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()
