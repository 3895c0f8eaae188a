"""What an analysis publishes: `RcaProgress` while it runs and one `RcaResult` at the end.

Field names are the HTTP API's contract too (`POST /api/ops/analyze` answers an `RcaResult`).
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from aegis.shared.bounds import RequestId
from aegis.shared.questions import ModelAlias, ReplyTo
from aegis.shared.subjects import QuestionSource

EvidenceKind = Literal["metric", "log", "trace"]
AnalysisStep = Literal["scope", "collect", "rank", "reason", "guard", "result"]


class Evidence(BaseModel):
    """One piece of evidence: the query that shows it, an excerpt, and a link for a human."""

    kind: EvidenceKind
    query: str
    excerpt: str
    link: str | None = None


class RootCauseCandidate(BaseModel):
    """A ranked hypothesis about where an incident starts."""

    rank: Annotated[int, Field(ge=1, le=3)]
    service: str
    hypothesis: str
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    evidence: list[Evidence] = Field(default_factory=list)


class RcaProgress(BaseModel):
    """One step of one analysis, on `aegis.rca.progress.<request_id>`."""

    schema_version: Literal[1] = 1
    request_id: RequestId
    step: AnalysisStep
    status: Literal["started", "done", "failed"]
    message: str = ""
    counts: dict[str, int] = Field(default_factory=dict)
    elapsed_ms: int = 0


class RcaResult(BaseModel):
    """The answer to one question, on `aegis.rca.result.<source>`.

    A result with `failed=True` carries no candidates and says why in `degraded_reason`: the asker
    is answered even when the analysis could not be.
    """

    schema_version: Literal[1] = 1
    request_id: RequestId
    source: QuestionSource
    reply_to: ReplyTo | None = None
    summary: str
    root_causes: Annotated[list[RootCauseCandidate], Field(max_length=3)] = Field(default_factory=list)
    next_actions: list[str] = Field(default_factory=list)
    model: ModelAlias = "none"
    model_contribution: str | None = Field(
        default=None, description="One line saying what the model changed or added, or where it disagrees."
    )
    degraded: bool = False
    degraded_reason: str | None = None
    failed: bool = False
    evidence_gaps: list[str] = Field(default_factory=list)
    timings: dict[str, int] = Field(default_factory=dict)
