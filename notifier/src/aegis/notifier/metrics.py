"""The notifier's own Prometheus metrics: what was sent, waited for, retried and dead-lettered.

They live in the process's one registry (`aegis.shared.serving.REGISTRY`, prometheus-client's
default), which the skeleton's `/metrics` serves.
"""

from prometheus_client import Counter, Gauge, Histogram

CARDS_SENT = Counter("aegis_notifier_cards_sent_total", "Cards sent or patched in Feishu.", ["kind"])
ALERT_GROUPS_DELIVERED = Counter(
    "aegis_notifier_alert_groups_delivered_total", "Alert group events shown in a card.", ["via"]
)
RATE_LIMIT_WAITS = Counter(
    "aegis_notifier_rate_limit_waits_total",
    "Times Feishu answered a rate limit (429 / 99991400, or the per-chat 230020) and the chat was paused.",
)
SEND_FAILURES = Counter("aegis_notifier_send_failures_total", "Sends that failed.", ["kind"])
DEAD_LETTERS = Counter("aegis_notifier_dead_letters_total", "Events dead-lettered.", ["reason"])
DELIVERY_SECONDS = Histogram(
    "aegis_notifier_alert_delivery_seconds",
    "From alert-ingest receiving the webhook to the card being accepted by Feishu.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30, 60),
)
DLQ_DEPTH = Gauge("aegis_dlq_messages", "Messages in the dead-letter stream AEGIS_DLQ (all services).")
STREAM_FILL = Gauge(
    "aegis_stream_fill_ratio",
    "How full each Aegis stream is, the larger of bytes/max_bytes and messages/max_msgs (new ones are "
    "refused at 1).",
    ["stream"],
)
AT_ALL_REFUSED_CHATS = Counter(
    "aegis_notifier_at_all_refused_chats_total",
    "Chats found not to let the bot @all (counted once per chat and process); their cards go without it.",
)
