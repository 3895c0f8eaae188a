"""Typed settings read once from the environment, and start-up errors that name the variable.

Every service subclasses `AegisSettings`; `load_settings` turns pydantic's validation report into
sentences an operator can act on ("NATS_URL: ...") instead of a traceback.
"""

from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

LogFormat = Literal["auto", "json", "console"]
Locale = Literal["zh", "en"]


class ConfigError(Exception):
    """A missing or malformed environment variable; the message names it."""


class AegisSettings(BaseSettings):
    """Settings every Aegis process reads."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL(s), comma-separated.")
    nats_user: str | None = Field(
        default=None, description="NATS user, when the server wants one (each service has its own)."
    )
    nats_password: SecretStr | None = Field(default=None, description="NATS password of NATS_USER.")
    nats_creds_file: str | None = Field(
        default=None, description="NATS credentials file (JWT + NKey seed) instead of user and password."
    )
    nats_nkey_seed_file: str | None = Field(
        default=None,
        description="File holding the NKey seed of this service's NATS user, instead of a password.",
    )
    nats_tls_ca_file: str | None = Field(
        default=None, description="CA bundle that signed the NATS server's certificate; set: TLS is required."
    )
    nats_tls_cert_file: str | None = Field(
        default=None, description="Client certificate for NATS mutual TLS (with NATS_TLS_KEY_FILE)."
    )
    nats_tls_key_file: str | None = Field(default=None, description="Private key of NATS_TLS_CERT_FILE.")
    aegis_stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of each JetStream stream and KV bucket (3 in a cluster)."
    )
    alert_dedup_window_s: float = Field(
        default=3600.0, gt=0, description="JetStream duplicate window of the alert stream, seconds."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    log_format: LogFormat = Field(
        default="auto", description="json, console, or auto (console on a terminal)."
    )
    locale: Locale = Field(default="zh", description="Language of messages users read: zh or en.")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector origin for spans (e.g. http://jaeger:4318); unset: no export.",
    )


S = TypeVar("S", bound=AegisSettings)


def feishu_origin(value: str) -> str:
    """`FEISHU_BASE_URL` checked as lark-oapi wants it: an https origin, or http on loopback."""
    parsed = urlsplit(value)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        raise ValueError("must be an https origin (http only for 127.0.0.1, localhost or ::1)")
    if parsed.path.strip("/") or parsed.query or parsed.fragment or parsed.username:
        raise ValueError("must be an origin only (scheme://host[:port]), without path, query or credentials")
    return value.rstrip("/")


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad variable: `NAME: what is wrong (got 'value')`."""
    lines = []
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"]).upper() or "<settings>"
        got = problem.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {str(got)[:80]!r})"
        lines.append(f"{name}: {problem['msg']}{shown}")
    return "; ".join(lines)


def load_settings(cls: type[S]) -> S:
    """Read `cls` from the environment or raise `ConfigError` naming each bad variable."""
    try:
        return cls()
    except ValidationError as error:
        raise ConfigError(f"invalid configuration: {describe_validation_error(error)}") from None
