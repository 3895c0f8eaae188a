"""The metric families a real cluster exposes, and the PromQL that turns each into RED and saturation.

Nothing on a real cluster is called `http_requests_total{service=…}` unless an app chose so: Istio,
Linkerd, ingress-nginx, Spring/Micrometer, OpenTelemetry (semconv before and after 1.20) and gRPC
each name the metric, the service label and the status label differently, and cAdvisor labels
containers, pods and sidecars. A `Family` says all of that; an `Identity` says which label names the
service and how to read the name out of it (a pod `payment-7d9f8b6c5-x2k4q` is the workload
`payment`; an OpenTelemetry job `shop/payment` is `payment` in `shop`). Every query relabels the
service into `aegis_service` and its namespace into `aegis_namespace` and sums by both, so two
namespaces never merge and sidecars (`istio-proxy`, `linkerd-proxy`, `POD`, pod cgroups) never count.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aegis.rca_worker.evidence import (
    CPU,
    CPU_THROTTLING,
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    MEMORY,
    REQUEST_RATE,
    RESTARTS,
)

SERVICE, NAMESPACE = "aegis_service", "aegis_namespace"
SIDECARS = ("", "POD", "istio-proxy", "istio-init", "linkerd-proxy", "linkerd-init")
# A pod of a Deployment (`name-<rs hash>-<5>`), a DaemonSet (`name-<5>`) or a StatefulSet (`name-0`).
POD_WORKLOAD = r"(.+?)(?:-[a-z0-9]{6,10}-[a-z0-9]{5}|-[a-z0-9]{5}|-[0-9]+)?"
GRPC_FAILURES = "Unknown|DeadlineExceeded|Internal|Unavailable|DataLoss|ResourceExhausted"
Kind = Literal["red", "saturation", "state"]
_REGEX_META = frozenset(".^$*+?()[]{}|\\")


@dataclass(frozen=True)
class Identity:
    """Which label names the service and its namespace, and how to read them out of the values."""

    label: str
    extract: str = "(.+)"
    select: str = "{names}"
    namespace_label: str = "namespace"
    namespace_extract: str = "(.+)"

    def service_of(self, value: str) -> str | None:
        """The service a label value names (None when the value does not name one)."""
        found = re.fullmatch(self.extract, value)
        return found.group(1) if found and found.group(1) else None


@dataclass(frozen=True)
class Query:
    """What a signal's builder gets: the series selector, the rate window, the status label."""

    selector: str
    window: str
    status: str
    identity: Identity
    failures: str

    def relabel(self, inner: str) -> str:
        """`inner` with `aegis_service` and `aegis_namespace` set from the identity's labels."""
        i = self.identity
        service = f'label_replace({inner}, "{SERVICE}", "$1", "{i.label}", "{i.extract}")'
        return (
            f'label_replace({service}, "{NAMESPACE}", "$1", "{i.namespace_label}", "{i.namespace_extract}")'
        )

    def total(self, inner: str, by: str = "") -> str:
        """`sum by (aegis_service, aegis_namespace[, by])` of `inner`, relabelled after a first sum by
        the identity's own labels, so label_replace runs over one series per workload, not per pod."""
        i = self.identity
        raw = ", ".join(dict.fromkeys([quote_label_name(i.label), quote_label_name(i.namespace_label)]))
        extra = f", {by}" if by else ""
        first = f"sum by ({raw}{extra}) ({inner})"
        return f"sum by ({SERVICE}, {NAMESPACE}{extra}) ({self.relabel(first)})"

    def with_matchers(self, *extra: str) -> str:
        """The selector with more matchers."""
        return ", ".join([self.selector, *extra])


Builder = Callable[[Query], str]


@dataclass(frozen=True)
class Family:
    """A metric family: the metric that reveals it, who the service is, and its signals' PromQL."""

    name: str
    probe_metric: str
    identities: tuple[Identity, ...]
    signals: Mapping[str, Builder]
    kind: Kind = "red"
    status_labels: tuple[str, ...] = ()
    failures: str = "5.."
    matchers: tuple[str, ...] = ()


def _red(count: str, bucket: str, scale: float = 1.0) -> dict[str, Builder]:
    """Request rate, error ratio and p95/p99 latency (seconds) from a counter and a histogram."""

    def rate(q: Query) -> str:
        return q.total(f"rate({count}{{{q.selector}}}[{q.window}])")

    def errors(q: Query) -> str:
        failing = q.total(
            f"rate({count}{{{q.with_matchers(f'{q.status}=~{quote(q.failures)}')}}}[{q.window}])"
        )
        return f"({failing} or {rate(q)} * 0) / {rate(q)}"

    def quantile(level: float) -> Builder:
        def build(q: Query) -> str:
            summed = q.total(f"rate({bucket}{{{q.selector}}}[{q.window}])", by="le")
            value = f"histogram_quantile({level}, {summed})"
            return value if scale == 1.0 else f"{value} / {1 / scale:g}"

        return build

    return {REQUEST_RATE: rate, ERROR_RATIO: errors, LATENCY_P95: quantile(0.95), LATENCY_P99: quantile(0.99)}


def quote(text: str) -> str:
    """`text` as a PromQL double-quoted string that stays one string whatever it holds."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


NAMED = Identity("service")
JOB = Identity(
    "job",
    extract="(?:[^/]+/)?(.+)",
    select="(?:[^/]+/)?(?:{names})",
    namespace_label="job",
    namespace_extract="([^/]+)/.+",
)
POD = Identity("pod", extract=POD_WORKLOAD, select="(?:{names})(?:-[a-z0-9]+)*")
CONTAINER = Identity("container")

RED_FAMILIES: tuple[Family, ...] = (
    Family(
        "istio",
        "istio_requests_total",
        (Identity("destination_workload", namespace_label="destination_workload_namespace"),),
        _red("istio_requests_total", "istio_request_duration_milliseconds_bucket", scale=0.001),
        status_labels=("response_code",),
        matchers=('reporter="destination"',),
    ),
    Family(
        "linkerd",
        "response_total",
        (Identity("deployment"),),
        {
            **_red("response_total", "response_latency_ms_bucket", scale=0.001),
        },
        status_labels=("classification",),
        failures="failure",
        matchers=('direction="inbound"',),
    ),
    Family(
        "ingress-nginx",
        "nginx_ingress_controller_requests",
        (Identity("exported_service", namespace_label="exported_namespace"), NAMED),
        _red("nginx_ingress_controller_requests", "nginx_ingress_controller_request_duration_seconds_bucket"),
        status_labels=("status",),
    ),
    Family(
        "spring",
        "http_server_requests_seconds_count",
        (Identity("application"), JOB),
        _red("http_server_requests_seconds_count", "http_server_requests_seconds_bucket"),
        status_labels=("status",),
    ),
    Family(
        "otel-http",
        "http_server_request_duration_seconds_count",
        (Identity("service_name"), JOB),
        _red("http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket"),
        status_labels=("http_response_status_code",),
    ),
    Family(
        "otel-http-legacy",
        "http_server_duration_milliseconds_count",
        (Identity("service_name"), JOB),
        _red("http_server_duration_milliseconds_count", "http_server_duration_milliseconds_bucket", 0.001),
        status_labels=("http_status_code",),
    ),
    Family(
        "grpc",
        "grpc_server_handled_total",
        (NAMED, JOB),
        _red("grpc_server_handled_total", "grpc_server_handling_seconds_bucket"),
        status_labels=("grpc_code",),
        failures=GRPC_FAILURES,
    ),
    Family(
        "prometheus-http",
        "http_requests_total",
        (NAMED, JOB),
        _red("http_requests_total", "http_request_duration_seconds_bucket"),
        status_labels=("code", "status", "status_code"),
    ),
)

_NOT_SIDECAR = f"container!~{quote('|'.join(SIDECARS))}"
SATURATION_FAMILIES: tuple[Family, ...] = (
    Family(
        "cadvisor",
        "container_cpu_usage_seconds_total",
        (POD, CONTAINER),
        {
            CPU: lambda q: q.total(f"rate(container_cpu_usage_seconds_total{{{q.selector}}}[{q.window}])"),
            MEMORY: lambda q: q.total(f"container_memory_working_set_bytes{{{q.selector}}}"),
            CPU_THROTTLING: lambda q: (
                f"{q.total(f'rate(container_cpu_cfs_throttled_periods_total{{{q.selector}}}[{q.window}])')}"
                f" / {q.total(f'rate(container_cpu_cfs_periods_total{{{q.selector}}}[{q.window}])')}"
            ),
        },
        kind="saturation",
        matchers=(_NOT_SIDECAR,),
    ),
    Family(
        "kube-state-metrics",
        "kube_pod_container_status_restarts_total",
        (POD, CONTAINER),
        {RESTARTS: lambda q: q.total(f"kube_pod_container_status_restarts_total{{{q.selector}}}")},
        kind="saturation",
        matchers=(_NOT_SIDECAR,),
    ),
)


def regex_alternatives(names: Sequence[str]) -> str:
    """`a|b` with every regex metacharacter of each name escaped (RE2 syntax)."""
    return "|".join("".join("\\" + c if c in _REGEX_META else c for c in n) for n in sorted(set(names)))


def quote_label_name(name: str) -> str:
    """A label name as a selector may carry it: bare when legacy-valid, else quoted (Prometheus 3)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else quote(name)


def selector(family: Family, identity: Identity, names: Sequence[str] | None) -> str:
    """The matchers of a family's series for `names` (every service when None), values escaped."""
    parts = list(family.matchers)
    if names is not None:
        pattern = identity.select.replace("{names}", regex_alternatives(names))
        parts.insert(0, f"{quote_label_name(identity.label)}=~{quote(pattern)}")
    else:
        parts.insert(0, f'{quote_label_name(identity.label)}!=""')
    return ", ".join(parts)


def render(
    family: Family, signal: str, identity: Identity, names: Sequence[str] | None, window: str, status: str
) -> str:
    """The PromQL of one signal of `family` for `names`."""
    query = Query(selector(family, identity, names), window, status, identity, family.failures)
    return family.signals[signal](query)


@dataclass(frozen=True)
class CustomTemplates:
    """A user's own templates (`PROMQL_TEMPLATES`): `str.format` strings with `{label}`, `{sel}`,
    `{w}` and `{status}`, for services under `service_label`, present when `probe_metric` is."""

    templates: Mapping[str, str]
    service_label: str
    probe_metric: str
    status: str = "code"
    name: str = "custom"
    extra: Mapping[str, str] = field(default_factory=dict)

    def render(self, signal: str, names: Sequence[str], window: str) -> str:
        """One query of the user's template for `names`."""
        sel = f"{quote_label_name(self.service_label)}=~{quote(regex_alternatives(names))}"
        return self.templates[signal].format(label=self.service_label, sel=sel, w=window, status=self.status)


def custom_convention(templates: Mapping[str, str], service_label: str, probe_metric: str) -> CustomTemplates:
    """The user's convention from the settings `PROMQL_TEMPLATES` and `PROMQL_SERVICE_LABEL`."""
    return CustomTemplates(dict(templates), service_label, probe_metric)
