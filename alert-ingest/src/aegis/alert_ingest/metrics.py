"""alert-ingest's Prometheus metrics, in the process's one registry (`aegis.shared.serving`).

`METRICS` is created once per process: every app of the process counts into it, and `/metrics`
serves it with the process collectors, the same way in all four services.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram

from aegis.alert_ingest.rejections import REJECTION_REASONS, RejectionReason
from aegis.shared.serving import REGISTRY
from aegis.shared.subjects import AlertStatus

_STATUSES: tuple[AlertStatus, ...] = ("firing", "resolved")


class IngestMetrics:
    """The counters and the publish-latency histogram of alert-ingest."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        received = Counter(
            "aegis_alerts_received",
            "Alerts in webhooks published onto NATS (JetStream-acked, duplicates included), by alert status.",
            ["status"],
            registry=self.registry,
        )
        rejected = Counter(
            "aegis_webhook_rejected",
            "Webhook requests refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "aegis_publish_seconds",
            "Time from publishing an alert group to JetStream's ack (or the failure), seconds.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.duplicates = Counter(
            "aegis_webhook_duplicates",
            "Webhooks JetStream recognised as a retry of one already published (same Nats-Msg-Id).",
            registry=self.registry,
        )
        # Children resolved once: label lookups take a lock, and every series shows from the start.
        self._received = {status: received.labels(status=status) for status in _STATUSES}
        self._rejected = {reason: rejected.labels(reason=reason) for reason in REJECTION_REASONS}

    def alert_received(self, status: AlertStatus) -> None:
        self._received[status].inc()

    def rejected(self, reason: RejectionReason) -> None:
        self._rejected[reason].inc()


METRICS = IngestMetrics(REGISTRY)
