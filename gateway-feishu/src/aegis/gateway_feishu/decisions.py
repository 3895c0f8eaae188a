"""What the pure decision modules answer besides a question: the reason an event asks nothing.

Also the request id every question from a Feishu event carries, derived from the event id so a
re-delivered event yields the same request id (and the notifier's replies stay idempotent).
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Literal, get_args

IgnoreReason = Literal[
    "chat_not_allowed",
    "not_mentioned",
    "unreadable_message",
    "from_app",
    "not_an_aegis_action",
    "forged_click",
    "repeated_click",
    "not_handled",
]
IGNORE_REASONS: tuple[IgnoreReason, ...] = get_args(IgnoreReason)
_FITS_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,61}$")


@dataclass(frozen=True)
class Ignored:
    """An event that asks nothing of Aegis, and why (for the log line and the metric)."""

    reason: IgnoreReason
    chat_id: str | None = None


def request_id_for(event_id: str) -> str:
    """`fs-<event_id>`: stable across re-deliveries; hashed when the id does not fit the pattern."""
    if _FITS_REQUEST_ID.match(event_id):
        return f"fs-{event_id}"
    return "fs-" + hashlib.sha256(event_id.encode()).hexdigest()[:40]
