"""The gateway's Prometheus metrics, in the process's one registry (`aegis.shared.serving`).

`METRICS` is created once per process and served by the skeleton's `/metrics` with the process
collectors. Updated from the long connection's thread and the event loop alike:
prometheus-client's metrics are thread-safe.
"""

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aegis.gateway_feishu.decisions import IGNORE_REASONS, IgnoreReason
from aegis.shared.serving import REGISTRY

EventKind = Literal["message", "card_click"]
Outcome = Literal["published", "duplicate", "refused", "failed"]
_KINDS: tuple[EventKind, ...] = ("message", "card_click")
_OUTCOMES: tuple[Outcome, ...] = ("published", "duplicate", "refused", "failed")
_REJECTIONS = ("unauthenticated", "malformed", "not_ready")


class GatewayMetrics:
    """Counters of what happened to each event, publish latency, and the long connection's state."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        questions = Counter(
            "aegis_feishu_questions",
            "Feishu events that asked a question, by kind and by what became of them.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        ignored = Counter(
            "aegis_feishu_events_ignored",
            "Feishu events that asked nothing of Aegis, by reason.",
            ["reason"],
            registry=self.registry,
        )
        rejected = Counter(
            "aegis_feishu_events_rejected",
            "Events refused before any decision: forged or stale callbacks, malformed events, "
            "callbacks before NATS was ready; by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "aegis_feishu_publish_seconds",
            "From handing a question to NATS to its recorded ack (dedupe check included), seconds.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.connected = Gauge(
            "aegis_feishu_long_connection_up",
            "1 while the lark-oapi long connection is established (ws mode).",
            registry=self.registry,
        )
        self.reconnects = Counter(
            "aegis_feishu_long_connection_reconnects",
            "Times the long connection was lost and lark-oapi started reconnecting.",
            registry=self.registry,
        )
        # Children resolved once: label lookups take a lock, and every series shows from the start.
        self._questions = {(k, o): questions.labels(kind=k, outcome=o) for k in _KINDS for o in _OUTCOMES}
        self._ignored = {reason: ignored.labels(reason=reason) for reason in IGNORE_REASONS}
        self._rejected = {reason: rejected.labels(reason=reason) for reason in _REJECTIONS}

    def question(self, kind: EventKind, outcome: Outcome) -> None:
        self._questions[(kind, outcome)].inc()

    def ignored(self, reason: IgnoreReason) -> None:
        self._ignored[reason].inc()

    def rejected(self, reason: Literal["unauthenticated", "malformed", "not_ready"]) -> None:
        self._rejected[reason].inc()


METRICS = GatewayMetrics(REGISTRY)
