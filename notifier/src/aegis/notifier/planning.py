"""Deciding what the next message to a chat carries: one alert group, or a digest of many.

Pure: the delivery loop hands in what waits and how much more is queued behind it. Below the
digest threshold each group gets its own card; at or above it, everything waiting (up to one
card's worth) is coalesced, so a storm drains at `digest_max` groups per send instead of one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from aegis.notifier.cards import CardOptions, digest_fits_uncut
from aegis.shared.alerts import AlertGroupEvent


class CardRecord(BaseModel):
    """What the `aegis_messages` bucket remembers about an alert group's latest card."""

    event_id: str
    message_id: str
    status: Literal["firing", "resolved"]
    received_at: datetime
    digest: bool = False


@dataclass(frozen=True)
class SlotPlan:
    """The events the next message carries; `digest` when more than one."""

    events: tuple[AlertGroupEvent, ...]

    @property
    def digest(self) -> bool:
        return len(self.events) > 1


def plan_slot(
    waiting: Sequence[AlertGroupEvent],
    queued_behind: int,
    digest_after: int,
    digest_max: int,
    options: CardOptions,
) -> SlotPlan:
    """What to send in the chat's next slot, given `waiting` (oldest first) and the queue behind."""
    if not waiting:
        raise ValueError("nothing waits to be planned")
    if len(waiting) + queued_behind < digest_after or len(waiting) == 1:
        return SlotPlan(events=(waiting[0],))
    chosen = list(waiting[:digest_max])
    while len(chosen) > 1 and not digest_fits_uncut(chosen, options):
        chosen = chosen[: len(chosen) // 2]
    return SlotPlan(events=tuple(chosen))


Verdict = Literal["send", "patch", "already_delivered", "superseded"]


def judge(event: AlertGroupEvent, record: CardRecord | None) -> Verdict:
    """What to do with one event given its group's last card.

    `already_delivered`: a redelivery of an event whose card exists (crash before the ack).
    `superseded`: an older notification arriving after a newer one of its group was shown.
    `patch`: a resolve whose group has its own firing card.
    """
    if record is None:
        return "send"
    if record.event_id == event.event_id:
        return "already_delivered"
    if record.received_at > event.received_at:
        return "superseded"
    if event.status == "resolved" and record.status == "firing" and not record.digest:
        return "patch"
    return "send"
