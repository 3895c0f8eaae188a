"""PromQL templates for RED and saturation signals under the metric conventions found in the wild.

Estates name their metrics differently: OpenTelemetry's HTTP semantic conventions, the classic
`http_requests_total` of client libraries, cAdvisor and kube-state-metrics for containers. Each
`Convention` names a probe metric whose presence selects it and the templates to use then; users add
their own through settings. Templates are `str.format` strings with `{label}` (the service label),
`{sel}` (a matcher of the services in scope), `{w}` (the rate window) and, for HTTP, `{status}`.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from aegis.rca_worker.evidence import (
    CPU,
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    MEMORY,
    REQUEST_RATE,
    RESTARTS,
)


@dataclass(frozen=True)
class Convention:
    """A naming convention: the metric that reveals it, the label naming services, and templates."""

    name: str
    probe_metric: str
    service_label: str
    templates: Mapping[str, str]
    status_labels: tuple[str, ...] = ()


def _red(count: str, bucket: str) -> dict[str, str]:
    rate = f"sum by ({{label}}) (rate({count}{{{{{{sel}}}}}}[{{w}}]))"
    errors = f'sum by ({{label}}) (rate({count}{{{{{{sel}}, {{status}}=~"5.."}}}}[{{w}}]))'
    quantile = f"histogram_quantile({{q}}, sum by ({{label}}, le) (rate({bucket}{{{{{{sel}}}}}}[{{w}}])))"
    return {
        REQUEST_RATE: rate,
        ERROR_RATIO: f"({errors} or {rate} * 0) / {rate}",
        LATENCY_P95: quantile.replace("{q}", "0.95"),
        LATENCY_P99: quantile.replace("{q}", "0.99"),
    }


OTEL_HTTP = Convention(
    name="otel-http",
    probe_metric="http_server_request_duration_seconds_count",
    service_label="service_name",
    templates=_red(
        "http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket"
    ),
    status_labels=("http_response_status_code",),
)
PROMETHEUS_HTTP = Convention(
    name="prometheus-http",
    probe_metric="http_requests_total",
    service_label="service",
    templates={
        **_red("http_requests_total", "http_request_duration_seconds_bucket"),
    },
    status_labels=("code", "status", "status_code"),
)
CADVISOR_CPU = Convention(
    name="cadvisor",
    probe_metric="container_cpu_usage_seconds_total",
    service_label="container",
    templates={CPU: "sum by ({label}) (rate(container_cpu_usage_seconds_total{{{sel}}}[{w}]))"},
)
CADVISOR_MEMORY = Convention(
    name="cadvisor",
    probe_metric="container_memory_working_set_bytes",
    service_label="container",
    templates={MEMORY: "sum by ({label}) (container_memory_working_set_bytes{{{sel}}})"},
)
KUBE_STATE_RESTARTS = Convention(
    name="kube-state-metrics",
    probe_metric="kube_pod_container_status_restarts_total",
    service_label="container",
    templates={RESTARTS: "sum by ({label}) (kube_pod_container_status_restarts_total{{{sel}}})"},
)

RED_CONVENTIONS = (OTEL_HTTP, PROMETHEUS_HTTP)
SATURATION_CONVENTIONS = (CADVISOR_CPU, CADVISOR_MEMORY, KUBE_STATE_RESTARTS)


def custom_convention(templates: Mapping[str, str], service_label: str, probe_metric: str) -> Convention:
    """A user's own convention from the settings `PROMQL_TEMPLATES` and `PROMQL_SERVICE_LABEL`."""
    return Convention("custom", probe_metric, service_label, dict(templates), ("code", "status"))


def service_matcher(label: str, services: list[str]) -> str:
    """`label=~"a|b"` with regex metacharacters escaped for PromQL's double-quoted strings."""
    escaped = []
    for name in sorted(services):
        regex = "".join("\\" + c if c in r".^$*+?()[]{}|\/" else c for c in name)
        escaped.append(regex.replace("\\", "\\\\"))
    return f'{label}=~"{"|".join(escaped)}"'


def render(template: str, label: str, services: list[str], window: str, status: str = "code") -> str:
    """One query of `template` for `services`."""
    return template.format(label=label, sel=service_matcher(label, services), w=window, status=status)
