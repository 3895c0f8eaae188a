"""Why a request is refused: one exception type carrying the HTTP answer and the metric label.

The checks (`auth`, `request_body`, `payload`) are pure and raise `Rejection`; the webhook route
turns it into the response, the log line and the `aegis_webhook_rejected_total{reason}` count, so
every refusal is answered, logged and counted the same way.
"""

from typing import Any, Literal, get_args

RejectionReason = Literal[
    "unauthorized",
    "unsupported_media_type",
    "too_large",
    "malformed_json",
    "invalid_payload",
    "nats_unavailable",
    "headers_too_large",
    "body_timeout",
    "rate_limited",
    "bad_content_length",
    "refused_by_stream",
]
REJECTION_REASONS: tuple[RejectionReason, ...] = get_args(RejectionReason)


class Rejection(Exception):
    """A request alert-ingest answers with a 4xx or 503 instead of publishing it."""

    def __init__(
        self,
        status_code: int,
        reason: RejectionReason,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.reason = reason
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON the caller reads: `detail`, and `errors` (field, problem) for schema errors."""
        body: dict[str, Any] = {"detail": self.detail}
        if self.errors is not None:
            body["errors"] = self.errors
        return body
