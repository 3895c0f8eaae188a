"""The parts of Feishu's inbound events the gateway reads, as validated models.

One set of models for both transports: validated from the JSON of an HTTP callback, or from the
typed objects lark-oapi's dispatcher builds on the long connection (`from_attributes`), so the
decisions downstream never see which way an event came. Anything the gateway does not read is
ignored; anything it needs and cannot find rejects the event at the door.
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

MESSAGE_RECEIVED = "im.message.receive_v1"
CARD_ACTION = "card.action.trigger"


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="ignore", frozen=True)


def epoch_to_datetime(value: int) -> datetime:
    """Feishu stamps events in seconds, milliseconds or microseconds depending on the field."""
    magnitude = abs(value)
    if magnitude >= 10**17:
        seconds = value / 1e9
    elif magnitude >= 10**14:
        seconds = value / 1e6
    elif magnitude >= 10**11:
        seconds = value / 1e3
    else:
        seconds = float(value)
    return datetime.fromtimestamp(seconds, UTC)


def _epoch(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


class EventHeader(_Read):
    """`header` of a schema-2.0 event."""

    event_id: str
    event_type: str
    create_time: int | None = None
    token: str | None = None
    app_id: str | None = None
    tenant_key: str | None = None

    _create_time = field_validator("create_time", mode="before")(_epoch)


class UserIds(_Read):
    open_id: str | None = None
    user_id: str | None = None
    union_id: str | None = None


class Mention(_Read):
    """One @ in a message: `key` is the placeholder (`@_user_1`) the text carries instead."""

    key: str
    id: UserIds | None = None
    name: str | None = None


class Sender(_Read):
    sender_id: UserIds | None = None
    sender_type: str | None = None


class Message(_Read):
    """`event.message` of `im.message.receive_v1`; `content` is a JSON string."""

    message_id: str
    chat_id: str
    chat_type: str
    message_type: str
    content: str = ""
    root_id: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    create_time: int | None = None
    mentions: list[Mention] = []

    _create_time = field_validator("create_time", mode="before")(_epoch)

    @field_validator("mentions", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class MessageBody(_Read):
    sender: Sender | None = None
    message: Message


class MessageReceived(_Read):
    """`im.message.receive_v1`: someone wrote in a chat the bot is in (groups: only when @-ed,
    unless the app may read all group messages)."""

    header: EventHeader
    event: MessageBody

    @property
    def asked_at(self) -> datetime | None:
        stamp = self.event.message.create_time or self.header.create_time
        return epoch_to_datetime(stamp) if stamp else None


class CardContext(_Read):
    open_message_id: str | None = None
    open_chat_id: str | None = None


class CardAction(_Read):
    value: dict[str, Any] | None = None
    tag: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _only_objects(cls, value: Any) -> Any:
        # Older cards put a string here; the Aegis contract is an object, anything else is foreign.
        return value if isinstance(value, dict) else None


class CardActionBody(_Read):
    operator: UserIds | None = None
    action: CardAction | None = None
    context: CardContext | None = None


class CardActionTriggered(_Read):
    """`card.action.trigger`: a button on an interactive card was pressed."""

    header: EventHeader
    event: CardActionBody

    @property
    def clicked_at(self) -> datetime | None:
        return epoch_to_datetime(self.header.create_time) if self.header.create_time else None
