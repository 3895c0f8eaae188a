"""The analysis API's request body, `OpsRequest`, and the question it becomes.

Only `question` is required: the window defaults to the last 15 minutes (or ends now when only a
start is given), the model to the worker's `DEFAULT_MODEL`.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aegis.shared.bounds import ShortText, UtcDatetime
from aegis.shared.questions import DEFAULT_WINDOW, ModelAlias, QuestionEvent, TimeWindow


class OpsRequest(BaseModel):
    """What `POST /api/ops/analyze` and `/api/ops/analyze/stream` take."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "payment 5xx 变多了，怎么回事？",
                    "services": ["payment"],
                    "start": "2026-11-24T09:45:00Z",
                    "end": "2026-11-24T10:00:00Z",
                    "model": "none",
                }
            ]
        },
    )

    question: str = Field(min_length=1, max_length=4000, description="The question, in any language.")
    services: list[ShortText] = Field(
        default_factory=list, max_length=50, description="Services to start from."
    )
    start: UtcDatetime | None = Field(
        default=None, description="Window start (RFC 3339; no zone means UTC); default end − 15 min."
    )
    end: UtcDatetime | None = Field(default=None, description="Window end (RFC 3339); default now.")
    model: ModelAlias | None = Field(
        default=None, description="Model alias; default the worker's DEFAULT_MODEL."
    )
    conversation_id: str | None = Field(
        default=None,
        max_length=128,
        description="Follow-ups with the same id reuse the previous scope where they leave it open "
        "(its window only when neither start nor end is sent).",
    )

    @model_validator(mode="after")
    def _window_ordered(self) -> Self:
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        return self

    def to_question(self, max_lookback: timedelta, now: datetime | None = None) -> QuestionEvent:
        """The `QuestionEvent` published on `aegis.question.api`.

        Raises `WindowTooLong` when the window spans more than `max_lookback` (`MAX_LOOKBACK`).
        """
        end = self.end or now or datetime.now(UTC)
        start = self.start or end - DEFAULT_WINDOW
        if end - start > max_lookback:
            raise WindowTooLong(f"the window spans {end - start}, longer than MAX_LOOKBACK ({max_lookback})")
        return QuestionEvent(
            request_id=f"api-{uuid.uuid4().hex}",
            source="api",
            text=self.question,
            services=self.services,
            window=TimeWindow(start=start, end=end),
            window_chosen=self.start is not None or self.end is not None,
            model=self.model,
            conversation_key=f"api:{self.conversation_id}" if self.conversation_id else None,
        )


class WindowTooLong(ValueError):
    """The asked window is longer than this deployment analyses (`MAX_LOOKBACK`)."""
