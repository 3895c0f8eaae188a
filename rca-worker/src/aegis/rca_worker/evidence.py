"""The evidence an analysis gathers, as plain data: what the tools return and the ranking reads.

Kept apart from both so that the same ranking runs over live backends, over recorded simulator
scenarios and over RCAEval case folders, and so that the analysis steps can carry it in their state.
Times are unix seconds throughout.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SourceName = Literal["prometheus", "loki", "jaeger"]

# Signals the ranking knows the meaning of; any other name is scored generically.
REQUEST_RATE = "request_rate"
ERROR_RATIO = "error_ratio"
LATENCY_P95 = "latency_p95"
LATENCY_P99 = "latency_p99"
CPU = "cpu"
MEMORY = "memory"
RESTARTS = "restarts"
# The real-cluster families: saturation and Kubernetes state.
CPU_THROTTLING = "cpu_throttling"
OOM_KILLED = "oom_killed"
CRASH_LOOP = "crash_loop"
REPLICAS_UNAVAILABLE = "replicas_unavailable"
ROLLOUT = "rollout"
# Signals of the machine a service runs on (shared with its neighbours), and of its network traffic.
NODE_PREFIX = "node_"
TRAFFIC_PREFIX = "traffic_"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class MetricSeries(_Frozen):
    """One signal of one service over time, and the query that produced it."""

    service: str
    signal: str
    query: str
    points: list[tuple[float, float]]
    family: str = Field(default="", description="The metric family it came from, e.g. istio, cadvisor.")
    namespace: str = ""
    counts: bool = Field(
        default=False,
        description="The values count events per point (a request count per row), not a per-second rate.",
    )


class LogTemplate(_Frozen):
    """Log lines of one service that share a shape, counted over time, with one sample."""

    service: str
    template: str
    count: int
    first_seen: float
    last_seen: float
    sample: str
    query: str
    buckets: list[tuple[float, int]] = Field(default_factory=list)
    operation: str | None = Field(
        default=None, description="The operation whose spans these lines were logged in, when joined."
    )
    calls: list[tuple[float, int]] = Field(
        default_factory=list, description="(bucket start, calls) of `operation`, lines or not."
    )


class TraceBucket(_Frozen):
    """What the sampled traces say about one service in one time bucket."""

    start: float
    spans: int = 0
    error_spans: int = 0
    error_origins: float = 0.0
    self_time_ms: float = 0.0


class ServiceTraceStats(_Frozen):
    """Per-service trace statistics over time: spans, errors, errors that start here, self-time."""

    service: str
    buckets: list[TraceBucket]


class OperationTimings(_Frozen):
    """Timed samples of one operation, for comparing it against its own normal.

    `kind` "self_time": the operation's spans' own time (duration minus children), in ms.
    `kind` "call_gap": for calls from `caller` into this service's `operation`, the caller span's
    duration minus the callee span's (the network and queue between them), in ms.
    `kind` "calls": for each call of this service's `operation`, 1.0 if it called `callee`, else 0.0.
    """

    service: str
    operation: str
    kind: Literal["self_time", "call_gap", "calls"]
    caller: str | None = None
    callee: str | None = None
    samples: list[tuple[float, float]] = Field(default_factory=list, description="(unix s, ms) pairs.")


class TraceOrigin(_Frozen):
    """One erroring trace and the service where its error most likely started."""

    trace_id: str
    service: str
    operation: str
    time: float
    excerpt: str


class Change(_Frozen):
    """Something that changed on a service, read from kube-state-metrics: a rollout, a restart."""

    service: str
    time: float
    kind: Literal["rollout", "oom_killed", "restart", "crash_loop", "replicas_unavailable"]
    detail: str
    query: str
    namespace: str = ""


class EvidenceGap(_Frozen):
    """Evidence that could not be gathered, and why; never fatal to an analysis."""

    source: SourceName
    reason: str
    service: str | None = None

    def describe(self) -> str:
        """One line for a human: `loki (payment): timed out after 15s`."""
        where = f" ({self.service})" if self.service else ""
        return f"{self.source}{where}: {self.reason}"


class EvidenceBundle(_Frozen):
    """Everything one analysis gathered about a window and a set of services."""

    start: float
    end: float
    services: list[str]
    edges: list[tuple[str, str]] = Field(default_factory=list, description="(caller, callee) pairs.")
    metrics: list[MetricSeries] = Field(default_factory=list)
    log_templates: list[LogTemplate] = Field(default_factory=list)
    trace_stats: list[ServiceTraceStats] = Field(default_factory=list)
    trace_origins: list[TraceOrigin] = Field(default_factory=list)
    operations: list[OperationTimings] = Field(default_factory=list)
    gaps: list[EvidenceGap] = Field(default_factory=list)
    sources: dict[str, str] = Field(
        default_factory=dict, description="Which source said what, e.g. the convention."
    )
    changes: list[Change] = Field(
        default_factory=list, description="Rollouts and restarts in or just before the window."
    )
    aliases: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per service, the name each backend knows it by when that differs "
        "({service: {backend: name}}).",
    )
    change_hint: float | None = Field(
        default=None, description="When the incident is known to start, if known."
    )
    trace_bucket_s: float = 60.0
