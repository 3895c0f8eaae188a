"""`QuestionEvent`: a question asked in Feishu, over HTTP or from the CLI, as rca-worker receives it."""

from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from aegis.shared.subjects import QuestionSource

ModelAlias = Literal["qwen", "glm", "deepseek", "doubao", "none"]
MODEL_ALIASES: tuple[ModelAlias, ...] = ("qwen", "glm", "deepseek", "doubao", "none")
DEFAULT_WINDOW = timedelta(minutes=15)


class TimeWindow(BaseModel):
    """The closed interval an analysis looks at; `start` is strictly before `end`."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError("window start must be before its end")
        return self

    @classmethod
    def last(cls, span: timedelta = DEFAULT_WINDOW, now: datetime | None = None) -> "TimeWindow":
        end = now or datetime.now(UTC)
        return cls(start=end - span, end=end)


class ReplyTo(BaseModel):
    """Where the answer goes in Feishu: the chat, and the message or thread to reply under."""

    chat_id: str
    message_id: str | None = None
    thread_id: str | None = None


class Asker(BaseModel):
    """Who asked, as far as the channel knows."""

    open_id: str | None = None
    user_id: str | None = None
    name: str | None = None


class QuestionEvent(BaseModel):
    """One question, published on `aegis.question.<source>`."""

    schema_version: Literal[1] = 1
    request_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    source: QuestionSource
    text: str = Field(max_length=4000)
    services: list[str] = Field(default_factory=list)
    window: TimeWindow = Field(default_factory=TimeWindow.last)
    model: ModelAlias | None = None
    reply_to: ReplyTo | None = None
    asker: Asker | None = None
    conversation_key: str | None = None
    alert_labels: dict[str, str] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
