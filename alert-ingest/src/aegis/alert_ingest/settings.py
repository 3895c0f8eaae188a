"""alert-ingest's settings: where it listens, who may post, how much it accepts, how long it waits.

Read once at start-up; a malformed value stops the process with a sentence naming the variable
(`load_settings`). The field descriptions are what the README's configuration table shows.
"""

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

    @field_validator("aegis_webhook_token")
    @classmethod
    def _blank_means_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # Helm and compose files often render an unset secret as "": treat it as not configured
        # (start-up logs say whether authentication is on) rather than as a token nobody can send.
        if value is None or not value.get_secret_value().strip():
            return None
        return value
