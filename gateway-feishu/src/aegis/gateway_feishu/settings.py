"""The gateway's settings: how Feishu reaches it, which chats it serves, what it knows about them.

Read once at start-up; a malformed or missing value stops the process with a sentence naming the
variable (`load_settings`). The field descriptions are what the README's configuration table shows.
"""

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from aegis.shared.settings import AegisSettings, feishu_origin

EventMode = Literal["ws", "http"]


def _comma_list(value: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in value.split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


class GatewaySettings(AegisSettings):
    """gateway-feishu's environment, on top of what every Aegis process reads."""

    feishu_app_id: str | None = Field(default=None, description="Feishu app id (cli_...).")
    feishu_app_secret: SecretStr | None = Field(default=None, description="Feishu app secret.")
    feishu_base_url: str = Field(
        default="https://open.feishu.cn",
        description="Feishu open-platform origin (https, or http on loopback).",
    )
    feishu_event_mode: EventMode = Field(
        default="ws",
        description="ws: lark-oapi long connection (no public URL needed); http: Feishu posts events to us.",
    )
    feishu_verification_token: SecretStr | None = Field(
        default=None, description="HTTP mode: the app's verification token; events carrying another get 401."
    )
    feishu_encrypt_key: SecretStr | None = Field(
        default=None,
        description="HTTP mode: the app's encrypt key; bodies are decrypted and X-Lark-Signature checked.",
    )
    feishu_bot_open_id: str | None = Field(
        default=None,
        description="The bot's open_id (ou_...); unset: asked from Feishu's bot-info API at start-up.",
    )
    feishu_allowed_chat_ids: str = Field(
        default="", description="Chats (oc_...) the bot answers in, comma-separated; empty: every chat."
    )
    aegis_known_services: str = Field(
        default="", description="Service names recognised in questions, comma-separated (e.g. payment,cart)."
    )
    http_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a container listens on all its interfaces; the pod network is the boundary
        description="Address the HTTP server (callback in http mode; health and metrics always) binds to.",
    )
    http_port: int = Field(default=8081, ge=1, le=65535, description="Port of the HTTP server.")
    gateway_publish_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=2.5,
        description="How long one event may wait for NATS before Feishu is told to re-deliver it, seconds.",
    )

    @field_validator("feishu_base_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        return feishu_origin(value)

    @field_validator("feishu_verification_token", "feishu_encrypt_key", "feishu_app_secret")
    @classmethod
    def _blank_secret_means_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # Helm and compose files often render an unset secret as "".
        if value is None or not value.get_secret_value().strip():
            return None
        return value

    @field_validator("feishu_app_id", "feishu_bot_open_id")
    @classmethod
    def _blank_means_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        needs_app = self.feishu_event_mode == "ws" or self.feishu_bot_open_id is None
        if needs_app:
            why = (
                "the long connection"
                if self.feishu_event_mode == "ws"
                else "asking Feishu for the bot's open_id"
            )
            missing = [
                name
                for name, value in (
                    ("FEISHU_APP_ID", self.feishu_app_id),
                    ("FEISHU_APP_SECRET", self.feishu_app_secret),
                )
                if not value
            ]
            if missing:
                hint = "" if self.feishu_event_mode == "ws" else " (or set FEISHU_BOT_OPEN_ID)"
                raise ValueError(f"{why} needs {' and '.join(missing)}{hint}")
        if self.feishu_event_mode == "http" and not (
            self.feishu_verification_token or self.feishu_encrypt_key
        ):
            raise ValueError(
                "FEISHU_EVENT_MODE=http needs FEISHU_VERIFICATION_TOKEN (and FEISHU_ENCRYPT_KEY when the app "
                "encrypts events): without them anyone could post questions"
            )
        return self

    @property
    def allowed_chat_ids(self) -> frozenset[str] | None:
        """None means every chat."""
        chats = _comma_list(self.feishu_allowed_chat_ids)
        return frozenset(chats) if chats else None

    @property
    def known_services(self) -> tuple[str, ...]:
        return _comma_list(self.aegis_known_services)
