"""Where the observability backends are and how long each may take, read once from the environment.

The variable names are the seed's contract (`PROMETHEUS_BASE_URL`, `LOKI_*`, `JAEGER_BASE_URL`);
timeouts, auth headers and the concurrency bound are additions with safe defaults.
"""

from pydantic import Field, SecretStr

from aegis.shared.settings import AegisSettings

DEFAULT_LOKI_SELECTOR_TEMPLATE = '{{{label_key}="{service}"}}'


class RcaSettings(AegisSettings):
    """Settings of the RCA engine: backends, per-backend timeouts, bounds on what is fetched."""

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
