"""`QuestionEvent`: a question asked in Feishu, over HTTP or from the CLI, as rca-worker receives it."""

from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from aegis.shared.bounds import MAX_WINDOW, RequestId, ShortText, UtcDatetime
from aegis.shared.subjects import QuestionSource

ModelAlias = Literal["qwen", "glm", "deepseek", "doubao", "none"]
MODEL_ALIASES: tuple[ModelAlias, ...] = ("qwen", "glm", "deepseek", "doubao", "none")
DEFAULT_WINDOW = timedelta(minutes=15)


class TimeWindow(BaseModel):
    """The closed interval an analysis looks at: UTC, `start` strictly before `end`, at most
    `MAX_WINDOW` long (an edge narrows it further with `MAX_LOOKBACK`)."""

    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError("window start must be before its end")
        if self.end - self.start > MAX_WINDOW:
            raise ValueError(f"window is longer than {MAX_WINDOW.days} days")
        return self

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @classmethod
    def last(cls, span: timedelta = DEFAULT_WINDOW, now: datetime | None = None) -> "TimeWindow":
        end = now or datetime.now(UTC)
        return cls(start=end - span, end=end)


class ReplyTo(BaseModel):
    """Where the answer goes in Feishu: the chat, and the message or thread to reply under."""

    chat_id: ShortText
    message_id: ShortText | None = None
    thread_id: ShortText | None = None


class Asker(BaseModel):
    """Who asked, as far as the channel knows."""

    open_id: ShortText | None = None
    user_id: ShortText | None = None
    name: ShortText | None = None


class QuestionEvent(BaseModel):
    """One question, published on `aegis.question.<source>`.

    The channel that received it reads it (services, window, model from the words or the request);
    the rca-worker only fills in what the asker left open from the conversation's previous question.
    """

    schema_version: Literal[1] = 1
    request_id: RequestId
    source: QuestionSource
    text: str = Field(max_length=4000)
    services: list[ShortText] = Field(default_factory=list, max_length=50)
    window: TimeWindow = Field(default_factory=TimeWindow.last)
    window_chosen: bool = Field(
        default=False,
        description=(
            "Whether the asker chose `window` (named a time in words, sent start or end, clicked an "
            "alert); when false it is the default last 15 minutes and a follow-up may reuse the "
            "window of the conversation's previous question."
        ),
    )
    model: ModelAlias | None = None
    reply_to: ReplyTo | None = None
    asker: Asker | None = None
    conversation_key: ShortText | None = None
    alert_labels: dict[ShortText, str] = Field(default_factory=dict, max_length=100)
    created_at: UtcDatetime = Field(default_factory=lambda: datetime.now(UTC))
