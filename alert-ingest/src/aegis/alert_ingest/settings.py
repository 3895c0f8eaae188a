"""alert-ingest's settings: where it listens, who may post, how much it accepts, how long it waits.

Read once at start-up; a malformed value stops the process with a sentence naming the variable
(`load_settings`). The field descriptions are what the README's configuration table shows.
"""

from datetime import timedelta

from pydantic import Field, SecretStr, field_validator

from aegis.shared.settings import AegisSettings

MIB = 1024 * 1024


class IngestSettings(AegisSettings):
    """alert-ingest's environment, on top of what every Aegis process reads."""

    http_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a container listens on all its interfaces; the pod network is the boundary
        description="Address the HTTP server binds to.",
    )
    http_port: int = Field(default=8080, ge=1, le=65535, description="Port of the HTTP server.")
    aegis_webhook_token: SecretStr | None = Field(
        default=None,
        description=(
            "When set, every POST needs `Authorization: Bearer <token>` (Alertmanager's "
            "`http_config.authorization`), else 401. Unset or empty: no authentication."
        ),
    )
    webhook_max_body_bytes: int = Field(
        default=MIB,
        gt=0,
        description="Largest webhook body accepted, bytes; larger ones get 413 without being read.",
    )
    nats_publish_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="How long a webhook waits for JetStream's ack before answering 503, seconds.",
    )

    analyze_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="How long /api/ops/analyze waits for the rca-worker's answer before 504, seconds.",
    )
    http_max_header_bytes: int = Field(
        default=16384, ge=1024, description="Largest request header block accepted, bytes; larger: 431."
    )
    api_max_body_bytes: int = Field(
        default=65536,
        gt=0,
        description="Largest analysis API body accepted, bytes; larger ones get 413 without being read.",
    )
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds a request's headers may take to arrive in full; slower: 408."
    )
    http_body_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds a request body may take to arrive in full; slower: 408."
    )
    api_requests_per_minute: int = Field(
        default=60,
        ge=1,
        description="Analysis API requests one client address may make per minute; more: 429.",
    )
    api_streams_per_client: int = Field(
        default=4, ge=1, description="Analysis streams one client address may hold open at once; more: 429."
    )
    max_lookback: timedelta = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        le=timedelta(days=31),
        description=(
            "Longest window the analysis API accepts (seconds or ISO 8601, e.g. P7D; at most 31 days); "
            "a longer one gets 422."
        ),
    )

    @field_validator("aegis_webhook_token")
    @classmethod
    def _blank_means_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # Helm and compose files often render an unset secret as "": treat it as not configured
        # (start-up logs say whether authentication is on) rather than as a token nobody can send.
        if value is None or not value.get_secret_value().strip():
            return None
        return value
