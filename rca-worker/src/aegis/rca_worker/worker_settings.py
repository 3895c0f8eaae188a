"""Settings of the rca-worker service: the consumer, its retry rules, the LLM providers, health.

Everything the engine needs (`RcaSettings`) plus what turns it into a scaled service. A model alias
that needs a provider's address refuses to start without it, naming the variable, instead of
failing every question later.
"""

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from aegis.rca_worker.settings import RcaSettings
from aegis.shared.questions import ModelAlias

OLLAMA_ALIASES: tuple[ModelAlias, ...] = ("qwen", "glm", "deepseek")


class WorkerSettings(RcaSettings):
    """Read once from the environment at start-up."""

    http_host: str = Field(
        # Every interface by default: the kubelet's probes and Prometheus reach the pod from outside.
        default="0.0.0.0",  # noqa: S104
        description="Address /healthz, /readyz and /metrics bind to.",
    )
    http_port: int = Field(
        default=8082, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics (0: any free one)."
    )
    rca_concurrency: int = Field(default=4, ge=1, le=64, description="Analyses one replica runs at once.")
    rca_max_ack_pending: int = Field(
        default=64,
        ge=1,
        description="Questions handed out and not yet answered, across all replicas (the consumer's "
        "max_ack_pending); bounds in-flight work.",
    )
    rca_ack_wait_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds without a heartbeat after which a question is handed to another replica "
        "(a crashed worker's questions come back after this long).",
    )
    rca_max_deliver: int = Field(
        default=3, ge=1, le=20, description="Attempts at one question before it is answered as failed."
    )
    rca_backoff_s: str = Field(
        default="2,10,30",
        description="Delays before retrying a failed analysis, seconds, comma-separated (last one repeats).",
    )
    rca_analysis_timeout_s: float = Field(
        default=180.0, gt=0, description="An attempt that takes longer than this counts as failed."
    )
    rca_shutdown_grace_s: float = Field(
        default=30.0, ge=0, description="On SIGTERM, seconds running analyses get to finish."
    )
    rca_services_cache_s: float = Field(
        default=60.0, ge=0, description="How long the service names the backends know are cached, seconds."
    )

    default_model: ModelAlias = Field(
        default="none",
        description="Model when a question names none: qwen, glm, deepseek (Ollama), doubao, or none "
        "(deterministic only).",
    )
    ollama_base_url: str | None = Field(
        default=None, description="Ollama origin, e.g. http://ollama:11434 (needed by qwen, glm, deepseek)."
    )
    ollama_model: str | None = Field(
        default=None,
        description="Ollama tag used for DEFAULT_MODEL instead of its default (qwen2.5:32b, "
        "glm-4.7-flash:latest, deepseek-r1:32b).",
    )
    ollama_num_ctx: int = Field(
        default=16384, ge=2048, description="Context window requested from Ollama, tokens."
    )
    doubao_base_url: str | None = Field(
        default=None, description="Doubao (Ark) OpenAI-compatible base URL, ending in /api/v3 or /v1."
    )
    doubao_api_key: SecretStr | None = Field(default=None, description="Doubao API key.")
    doubao_model: str | None = Field(
        default=None, description="Doubao model or endpoint id, e.g. doubao-seed-1-6-250615 or ep-…."
    )
    llm_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="The longest the LLM step may take; past it the answer is deterministic.",
    )
    llm_max_digest_tokens: int = Field(
        default=6000,
        ge=500,
        description="Budget of the evidence digest given to the LLM, tokens (estimated).",
    )
    llm_max_tool_calls: int = Field(
        default=4, ge=0, le=20, description="Read-only drill-down queries the LLM may make per question."
    )
    llm_step_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="The longest one model turn may take, seconds (each turn also ends by LLM_TIMEOUT_S).",
    )
    llm_max_output_tokens: int = Field(
        default=1024,
        ge=64,
        le=32768,
        description="Most tokens the model may write per turn (max_tokens / num_predict): a looping "
        "model stops there.",
    )
    llm_tools: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Offer the model tools: auto (what the model reports it supports; a refusal is "
        "remembered), on, or off (the model answers in JSON text).",
    )

    @property
    def backoff(self) -> tuple[float, ...]:
        """`RCA_BACKOFF_S` as numbers."""
        return tuple(float(part) for part in self.rca_backoff_s.split(","))

    @field_validator("rca_backoff_s")
    @classmethod
    def _delays(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",")]
        except ValueError:
            raise ValueError("must be comma-separated seconds, e.g. 2,10,30") from None
        if not delays or any(d < 0 for d in delays):
            raise ValueError("must be comma-separated non-negative seconds, e.g. 2,10,30")
        return value

    @model_validator(mode="after")
    def _default_model_is_reachable(self) -> Self:
        missing = self.missing_for(self.default_model)
        if missing:
            raise ValueError(f"DEFAULT_MODEL={self.default_model} needs {', '.join(missing)}")
        return self

    def missing_for(self, alias: ModelAlias) -> list[str]:
        """The variables `alias` needs that are unset (empty when it can be used)."""
        if alias in OLLAMA_ALIASES:
            return [] if self.ollama_base_url else ["OLLAMA_BASE_URL"]
        if alias == "doubao":
            wanted = {
                "DOUBAO_BASE_URL": self.doubao_base_url,
                "DOUBAO_API_KEY": self.doubao_api_key,
                "DOUBAO_MODEL": self.doubao_model,
            }
            return [name for name, value in wanted.items() if not value]
        return []
