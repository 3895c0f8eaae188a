"""The notifier's settings: where to send, how fast, and how hard to retry."""

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from aegis.notifier.routing import load_routes
from aegis.shared.consumers import DeliveryBudget
from aegis.shared.settings import AegisSettings, feishu_origin

Sink = Literal["auto", "feishu", "console"]


class NotifierSettings(AegisSettings):
    """Read from the environment once at start-up."""

    feishu_app_id: str | None = Field(default=None, description="Feishu app id (cli_...).")
    feishu_app_secret: SecretStr | None = Field(default=None, description="Feishu app secret.")
    feishu_base_url: str = Field(
        default="https://open.feishu.cn",
        description="Feishu open-platform origin (https, or http on loopback).",
    )
    feishu_default_chat_id: str | None = Field(
        default=None, description="Chat (oc_...) that receives alert cards."
    )
    notifier_sink: Sink = Field(
        default="auto", description="feishu, console, or auto (feishu when app id and secret are set)."
    )
    notify_at_all_severities: str = Field(
        default="*",
        description="Severities whose firing cards @all, comma-separated; * for all, empty for none.",
    )
    feishu_chat_rate_per_s: float = Field(
        default=5.0, gt=0, le=5.0, description="Sends per second to one chat (Feishu allows 5)."
    )
    feishu_send_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one Feishu API call, seconds."
    )
    digest_after_waiting: int = Field(
        default=3,
        ge=2,
        description="When this many alert groups wait for one chat, they go out as one digest card.",
    )
    digest_max_groups: int = Field(
        default=40, ge=2, le=100, description="Alert groups listed in one digest card at most."
    )
    notifier_max_deliver: int = Field(
        default=8, ge=1, description="Deliveries of one event before it is dead-lettered."
    )
    notifier_ack_wait_s: float = Field(
        default=60.0, gt=0, description="JetStream ack wait of the notifier's consumers, seconds."
    )
    notifier_backoff_s: str = Field(
        default="1,2,5,15,30,60",
        description="Redelivery delays after a failed send, seconds, comma-separated.",
    )
    http_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a container listens on all its interfaces; the pod network is the boundary
        description="Address the HTTP server (/healthz, /readyz, /metrics) binds to.",
    )
    http_port: int = Field(
        default=9091, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics (0: none served)."
    )
    grafana_base_url: str | None = Field(
        default=None, description="Grafana URL; metric and log evidence links open its Explore view."
    )
    jaeger_ui_base_url: str | None = Field(
        default=None, description="Jaeger UI URL; trace evidence links open the trace there."
    )
    alertmanager_silence_base_url: str | None = Field(
        default=None,
        description="Alertmanager URL for silence links when externalURL is not reachable by users.",
    )

    notifier_routes_file: str | None = Field(
        default=None,
        description="YAML routes file: chats and mentions by label; unset: every card to the default chat.",
    )
    incident_memory_days: float = Field(
        default=30.0, gt=0, le=365, description="How long answered analyses are remembered, days."
    )
    contact_cache_ttl_s: float = Field(
        default=3600.0,
        gt=0,
        description="How long an email's Feishu user (or its absence) is cached, seconds.",
    )

    @field_validator("notifier_routes_file")
    @classmethod
    def _routes(cls, value: str | None) -> str | None:
        load_routes(value)  # an invalid routes file stops start-up, naming the route
        return value

    @property
    def budget(self) -> DeliveryBudget:
        """The delivery budget of every notifier consumer."""
        return DeliveryBudget(self.notifier_max_deliver, self.notifier_ack_wait_s, tuple(self.backoff))

    @field_validator("feishu_base_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        return feishu_origin(value)

    @field_validator("notifier_backoff_s")
    @classmethod
    def _delays(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("must be comma-separated seconds, e.g. 1,2,5,15") from None
        if not delays or any(d < 0 for d in delays):
            raise ValueError("must list at least one non-negative delay")
        return value

    @property
    def backoff(self) -> list[float]:
        return [float(part) for part in self.notifier_backoff_s.split(",") if part.strip()]

    @property
    def at_all_severities(self) -> frozenset[str] | None:
        """None means every severity; an empty set means nobody is mentioned."""
        parts = {p.strip().lower() for p in self.notify_at_all_severities.split(",") if p.strip()}
        return None if "*" in parts else frozenset(parts)

    @property
    def uses_feishu(self) -> bool:
        if self.notifier_sink == "console":
            return False
        return self.notifier_sink == "feishu" or bool(self.feishu_app_id and self.feishu_app_secret)

    @model_validator(mode="after")
    def _feishu_complete(self) -> Self:
        if self.notifier_sink == "feishu" or (self.notifier_sink == "auto" and self.feishu_app_id):
            missing = [
                name
                for name, value in (
                    ("FEISHU_APP_ID", self.feishu_app_id),
                    ("FEISHU_APP_SECRET", self.feishu_app_secret),
                    ("FEISHU_DEFAULT_CHAT_ID", self.feishu_default_chat_id),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"sending to Feishu needs {', '.join(missing)} (or NOTIFIER_SINK=console)")
        return self
