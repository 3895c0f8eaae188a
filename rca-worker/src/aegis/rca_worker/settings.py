"""The rca-worker's one settings object, read once from the environment at start-up.

What the engine needs (where the observability backends are, how long each may take, bounds on
what is fetched) and what turns it into a scaled service (the consumer, its retry rules, the LLM
providers, health). The backend variable names are the seed's contract (`PROMETHEUS_BASE_URL`,
`LOKI_*`, `JAEGER_BASE_URL`). A model alias that needs a provider's address refuses to start without
it, naming the variable, instead of failing every question later.
"""

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from aegis.shared.questions import ModelAlias
from aegis.shared.settings import AegisSettings

DEFAULT_LOKI_SELECTOR_TEMPLATE = '{{{label_key}="{service}"}}'


OLLAMA_ALIASES: tuple[ModelAlias, ...] = ("qwen", "glm", "deepseek")


class WorkerSettings(AegisSettings):
    """Backends, per-backend timeouts and bounds (the engine); consumer, LLM and health (the service)."""

    prometheus_base_url: str | None = Field(
        default=None, description="Prometheus origin, e.g. http://prometheus:9090."
    )
    loki_base_url: str | None = Field(
        default=None, description="Loki origin (query frontend), e.g. http://loki:3100."
    )
    loki_tenant_id: str | None = Field(default=None, description="Sent as X-Scope-OrgID when set.")
    loki_service_label_key: str = Field(
        default="app", description="The Loki stream label that names a service."
    )
    loki_selector_template: str = Field(
        default=DEFAULT_LOKI_SELECTOR_TEMPLATE,
        description="A str.format template with {label_key} and {service} giving a LogQL stream selector.",
    )
    jaeger_base_url: str | None = Field(
        default=None, description="Jaeger query origin, e.g. http://jaeger-query:16686."
    )

    prometheus_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one Prometheus request, seconds."
    )
    loki_timeout_s: float = Field(default=15.0, gt=0, description="Timeout of one Loki request, seconds.")
    jaeger_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one Jaeger request, seconds.")

    prometheus_auth_header: SecretStr | None = Field(
        default=None, description="Authorization header value for Prometheus, e.g. 'Bearer …'."
    )
    loki_auth_header: SecretStr | None = Field(
        default=None, description="Authorization header value for Loki."
    )
    jaeger_auth_header: SecretStr | None = Field(
        default=None, description="Authorization header value for Jaeger."
    )

    prometheus_extra_headers: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {header: value} sent to Prometheus, e.g. {"X-Scope-OrgID": "team"} (Mimir, '
        'Cortex) or {"THANOS-TENANT": "team"}; not for credentials (PROMETHEUS_AUTH_HEADER is secret).',
    )
    loki_extra_headers: dict[str, str] = Field(
        default_factory=dict,
        description="JSON {header: value} sent to Loki besides X-Scope-OrgID; not for credentials.",
    )
    jaeger_extra_headers: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {header: value} sent to Jaeger, e.g. {"x-tenant": "team"} (multi-tenant '
        "Jaeger); not for credentials.",
    )
    service_aliases: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {name a backend uses: service}, e.g. {"payment-svc": "payment"}, when '
        "backends name one service differently beyond a namespace prefix or a -service/-svc suffix.",
    )
    backend_attempts: int = Field(
        default=3, ge=1, le=10, description="Tries of one backend request on 429, 5xx and timeouts."
    )
    backend_max_backoff_s: float = Field(
        default=5.0,
        ge=0,
        description="The longest wait between tries, seconds (Retry-After is capped to it).",
    )
    evidence_concurrency: int = Field(
        default=16, ge=1, le=128, description="Backend requests in flight per backend and analysis."
    )
    loki_page_limit: int = Field(default=500, ge=1, le=5000, description="Log lines per Loki page.")
    loki_max_pages: int = Field(default=4, ge=1, le=50, description="Pages read per service before stopping.")
    jaeger_trace_limit: int = Field(default=20, ge=1, le=500, description="Traces per Jaeger search.")
    jaeger_time_slices: int = Field(
        default=8, ge=1, le=48, description="Slices of the window sampled for baseline traces."
    )
    promql_templates: dict[str, str] = Field(
        default_factory=dict,
        description="JSON {signal: PromQL template} tried before the built-in conventions.",
    )
    promql_service_label: str = Field(default="service", description="Service label of PROMQL_TEMPLATES.")
    promql_probe_metric: str = Field(
        default="", description="Metric whose presence enables PROMQL_TEMPLATES."
    )
    prometheus_rate_window: str = Field(
        default="1m", pattern=r"^\d+[smh]$", description="Window of rate(), e.g. 1m."
    )
    jaeger_slow_ms: int = Field(default=500, ge=1, description="A trace at least this long counts as slow.")
    baseline_lookback_s: float = Field(
        default=1800.0, ge=0, description="Seconds before the window also fetched, as the baseline of normal."
    )
    prometheus_step_s: float = Field(default=15.0, gt=0, description="Resolution of range queries, seconds.")
    backend_budget_s: float = Field(
        default=60.0,
        gt=0,
        description="The longest one backend's whole evidence collection may take, seconds; past it the "
        "backend becomes an evidence gap.",
    )

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
