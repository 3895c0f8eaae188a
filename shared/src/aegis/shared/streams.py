"""JetStream streams and KV buckets, declared idempotently by whichever process needs them.

File storage and limits retention everywhere: several consumers read each stream, so a message
stays until its age limit, not until one reader acknowledges it. Each stream is also bounded in
bytes and messages and refuses new messages when full (`DiscardPolicy.NEW`), so one client cannot
fill the server's store and nothing already accepted is dropped to make room: a publisher is told
(alert-ingest answers 503, Alertmanager retries). The limits add up to 5 GiB, inside the chart's
8 GiB store; `aegis_stream_fill_ratio` says how close each stream is to its limit.
"""

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.kv import KeyValue

from aegis.shared import subjects

DAY = 86_400.0
GIB = 1024**3

ALERTS_STREAM = "AEGIS_ALERTS"
QUESTIONS_STREAM = "AEGIS_QUESTIONS"
RCA_STREAM = "AEGIS_RCA"
DLQ_STREAM = "AEGIS_DLQ"

SESSIONS_BUCKET = "aegis_sessions"
MESSAGES_BUCKET = "aegis_messages"
FEISHU_EVENTS_BUCKET = "aegis_feishu_events"
CLAIMS_BUCKET = "aegis_claims"
INCIDENTS_BUCKET = "aegis_incidents"
MIB = 1024**2


@dataclass(frozen=True)
class Topology:
    """Sizing knobs of the streams: replica count and the alert duplicate window."""

    replicas: int = 1
    alert_dedup_window_s: float = 3600.0
    incident_memory_days: float = 30.0


def stream_configs(topology: Topology) -> list[StreamConfig]:
    """The four Aegis streams."""

    def stream(
        name: str, subject: str, max_age: float, max_bytes: int, max_msgs: int, dedup: float = 120.0
    ) -> StreamConfig:
        return StreamConfig(
            name=name,
            subjects=[subject],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=max_age,
            max_bytes=max_bytes,
            max_msgs=max_msgs,
            discard=DiscardPolicy.NEW,
            duplicate_window=dedup,
            num_replicas=topology.replicas,
        )

    return [
        stream(ALERTS_STREAM, subjects.ALERTS, 7 * DAY, 2 * GIB, 2_000_000, topology.alert_dedup_window_s),
        stream(QUESTIONS_STREAM, subjects.QUESTIONS, 7 * DAY, 1 * GIB, 1_000_000, 600.0),
        stream(RCA_STREAM, subjects.RCA, 1 * DAY, 1 * GIB, 5_000_000, 600.0),
        stream(DLQ_STREAM, subjects.DLQ, 30 * DAY, 1 * GIB, 1_000_000),
    ]


def fill_ratio(stored_bytes: int, stored_msgs: int, config: StreamConfig) -> float:
    """How full a stream is: the larger of its byte and message ratios (0 when unbounded)."""
    ratios = [
        used / limit
        for used, limit in ((stored_bytes, config.max_bytes), (stored_msgs, config.max_msgs))
        if limit and limit > 0
    ]
    return max(ratios, default=0.0)


def bucket_configs(topology: Topology) -> list[KeyValueConfig]:
    """KV buckets: conversation memory, alert → Feishu message ids, Feishu event dedup."""
    return [
        KeyValueConfig(bucket=SESSIONS_BUCKET, ttl=DAY, storage=StorageType.FILE, replicas=topology.replicas),
        # Feishu lets a card be patched for 14 days; keep the ids exactly that long.
        KeyValueConfig(
            bucket=MESSAGES_BUCKET, ttl=14 * DAY, storage=StorageType.FILE, replicas=topology.replicas
        ),
        # Who claimed which alert card (`aegis.shared.claims`): as long as the card can be patched.
        KeyValueConfig(
            bucket=CLAIMS_BUCKET, ttl=14 * DAY, storage=StorageType.FILE, replicas=topology.replicas
        ),
        # Incident memory (`aegis.shared.incidents`): INCIDENT_MEMORY_DAYS, and bounded in bytes.
        KeyValueConfig(
            bucket=INCIDENTS_BUCKET,
            ttl=topology.incident_memory_days * DAY,
            max_bytes=256 * MIB,
            storage=StorageType.FILE,
            replicas=topology.replicas,
        ),
        # Feishu re-delivers an event for up to ~7 h; remember event ids for 12 h.
        KeyValueConfig(
            bucket=FEISHU_EVENTS_BUCKET, ttl=12 * 3600.0, storage=StorageType.FILE, replicas=topology.replicas
        ),
    ]


async def ensure_streams(js: JetStreamContext, topology: Topology) -> None:
    """Create each stream, or update it in place when it already exists."""
    for config in stream_configs(topology):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


async def ensure_bucket(js: JetStreamContext, name: str, topology: Topology) -> KeyValue:
    """Open the KV bucket `name`, creating it first when missing."""
    try:
        return await js.key_value(name)
    except (NotFoundError, BadRequestError):
        config = next(c for c in bucket_configs(topology) if c.bucket == name)
        return await js.create_key_value(config)
