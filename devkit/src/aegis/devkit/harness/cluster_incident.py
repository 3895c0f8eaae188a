"""An incident written under the names a real Kubernetes cluster uses, for the real servers.

`payment` (namespace `shop`) is rolled out two minutes before its errors begin; the new version
throws NullPointerExceptions, slows down, and is OOMKilled once. `checkout` and `frontend`, which
call it, fail with it; `cart` and `catalog` stay healthy, `catalog` chatty in its logs (and one
dump of 1,100 lines on a single nanosecond). Metrics come as cAdvisor (pods with an `istio-proxy`
sidecar, `POD` and pod-cgroup series; `payment` and `catalog` both run a container named `server`),
kube-state-metrics, and RED from exactly one of Istio, Spring, OpenTelemetry before and after
semconv 1.20, or ingress-nginx; logs as Promtail labels them (traces: `cluster_traces.py`).
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

NAMESPACE = "shop"
SERVICES = ("frontend", "checkout", "payment", "cart", "catalog")
CALLS = (("frontend", "checkout"), ("checkout", "payment"), ("frontend", "cart"), ("frontend", "catalog"))
ROOT = "payment"
CONTAINER = {"payment": "server", "catalog": "server"}
RATE = {"frontend": 40.0, "checkout": 15.0, "payment": 15.0, "cart": 20.0, "catalog": 25.0}
FAILING = {"payment": 0.35, "checkout": 0.3, "frontend": 0.12}
SLOW_S = {"payment": 0.6, "checkout": 0.65, "frontend": 0.7}
RED_FAMILIES = ("istio", "spring", "otel-http-legacy", "otel-http", "ingress-nginx")
SCRAPE_S = 30
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CRAFTED = 'evil"} or vector(1) or {x=~".+'
NPE = (
    'java.lang.NullPointerException: Cannot invoke "Card.token()" because "card" is null '
    "at PaymentService.charge(PaymentService.java:{line}) order={order}"
)


@dataclass(frozen=True)
class Timeline:
    """When things happen, unix seconds, on the scrape grid, and the estate it happens in."""

    start: float
    end: float
    services: tuple[str, ...] = SERVICES
    calls: tuple[tuple[str, str], ...] = CALLS

    @classmethod
    def ending(cls, now: float, minutes: int = 70, extra_services: int = 0) -> "Timeline":
        """A timeline ending a minute before `now`; `extra_services` more healthy ones behind frontend."""
        end = now - 60 - (now % SCRAPE_S)
        extra = tuple(f"svc-{i:02d}" for i in range(1, extra_services + 1))
        calls = CALLS + tuple(("frontend", s) for s in extra)
        return cls(end - minutes * 60, end, SERVICES + extra, calls)

    @property
    def onset(self) -> float:
        """The errors begin."""
        return self.end - 15 * 60

    @property
    def rollout(self) -> float:
        """The new ReplicaSet of payment is created."""
        return self.onset - 120

    @property
    def oom(self) -> float:
        """The new payment container is OOMKilled and restarted."""
        return self.onset + 5 * 60

    def times(self) -> Iterator[float]:
        """Every scrape."""
        t = self.start
        while t <= self.end:
            yield t
            t += SCRAPE_S


def pods(service: str, t: float, timeline: Timeline) -> str:
    """The pod of `service` at `t` (payment's changes with the rollout)."""
    if service == ROOT and t >= timeline.rollout:
        return "payment-7c9d8e6f4-m8n2p"
    return f"{service}-6b7f9c8d5-{service[:3]}4q"


def error_ratio(service: str, t: float, timeline: Timeline) -> float:
    """The failing share of requests."""
    return FAILING.get(service, 0.002) if t >= timeline.onset else 0.002


def median_s(service: str, t: float, timeline: Timeline) -> float:
    """Median latency, seconds."""
    return SLOW_S.get(service, 0.04) if t >= timeline.onset else 0.04


def _cdf(le: float, median: float) -> float:
    return 0.5 * (1.0 + math.erf((math.log(le) - math.log(median)) / (0.5 * math.sqrt(2))))


def _labels(labels: dict[str, str]) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


def _red_labels(family: str, service: str) -> tuple[str, str, str, dict[str, str], str, float]:
    """(count metric, histogram base, status label, identity labels, histogram family, unit)."""
    if family == "istio":
        who = {
            "reporter": "destination",
            "destination_workload": service,
            "destination_workload_namespace": NAMESPACE,
            "destination_service_name": service,
        }
        return (
            "istio_requests_total",
            "istio_request_duration_milliseconds",
            "response_code",
            who,
            "istio_request_duration_milliseconds",
            1000.0,
        )
    if family == "spring":
        who = {"application": service, "namespace": NAMESPACE, "uri": "/api", "method": "GET"}
        return (
            "http_server_requests_seconds_count",
            "http_server_requests_seconds",
            "status",
            who,
            "http_server_requests_seconds",
            1.0,
        )
    if family == "otel-http-legacy":
        who = {"job": f"{NAMESPACE}/{service}", "http_method": "GET"}
        return (
            "http_server_duration_milliseconds_count",
            "http_server_duration_milliseconds",
            "http_status_code",
            who,
            "http_server_duration_milliseconds",
            1000.0,
        )
    if family == "otel-http":
        who = {"service_name": service, "job": f"{NAMESPACE}/{service}", "http_request_method": "GET"}
        return (
            "http_server_request_duration_seconds_count",
            "http_server_request_duration_seconds",
            "http_response_status_code",
            who,
            "http_server_request_duration_seconds",
            1.0,
        )
    if family == "ingress-nginx":
        who = {
            "exported_service": service,
            "exported_namespace": NAMESPACE,
            "ingress": service,
            "service": "ingress-nginx-controller",
            "namespace": "ingress-nginx",
        }
        return (
            "nginx_ingress_controller_requests",
            "nginx_ingress_controller_request_duration_seconds",
            "status",
            who,
            "nginx_ingress_controller_request_duration_seconds",
            1.0,
        )
    raise ValueError(f"unknown RED family {family}")


def _write_red(family: str, timeline: Timeline, out: TextIO) -> None:
    count_name, histogram, status_label, _, hist_family, unit = _red_labels(family, "x")
    kind = "histogram" if count_name.endswith("_count") else "counter"
    if kind == "counter":
        # ingress-nginx's counter has no `_total`: OpenMetrics can only carry it untyped.
        typed = count_name.endswith("_total")
        out.write(f"# TYPE {count_name.removesuffix('_total')} {'counter' if typed else 'unknown'}\n")
        for service in (*timeline.services, *((CRAFTED,) if family == "spring" else ())):
            who = _red_labels(family, service)[3]
            for code in ("200", "500"):
                total = 0.0
                for t in timeline.times():
                    err = error_ratio(service, t, timeline)
                    total += RATE.get(service, 2.0) * SCRAPE_S * (err if code == "500" else 1 - err)
                    out.write(f"{count_name}{_labels({**who, status_label: code})} {total:.3f} {t:.3f}\n")
    out.write(f"# TYPE {hist_family} histogram\n")
    for service in (*timeline.services, *((CRAFTED,) if family == "spring" else ())):
        who = _red_labels(family, service)[3]
        statuses: tuple[str | None, ...] = ("200", "500") if kind == "histogram" else (None,)
        for status in statuses:
            labels = {**who, status_label: status} if status is not None else who
            rows: dict[str, list[str]] = {}
            cumulative = [0.0] * (len(BUCKETS_S) + 1)
            total_sum = 0.0
            for t in timeline.times():
                err = error_ratio(service, t, timeline)
                share = 1.0 if status is None else (err if status == "500" else 1 - err)
                n = RATE.get(service, 2.0) * SCRAPE_S * share
                median = median_s(service, t, timeline)
                for i, le in enumerate(BUCKETS_S):
                    cumulative[i] += n * _cdf(le, median)
                cumulative[-1] += n
                total_sum += n * median * unit
                for i, le in enumerate((*BUCKETS_S, math.inf)):
                    le_text = "+Inf" if le == math.inf else f"{le * unit:g}"
                    rows.setdefault(le_text, []).append(
                        f"{histogram}_bucket{_labels({**labels, 'le': le_text})} {cumulative[i]:.3f} {t:.3f}"
                    )
                rows.setdefault("count", []).append(
                    f"{histogram}_count{_labels(labels)} {cumulative[-1]:.3f} {t:.3f}"
                )
                rows.setdefault("sum", []).append(f"{histogram}_sum{_labels(labels)} {total_sum:.3f} {t:.3f}")
            for lines in rows.values():
                out.write("\n".join(lines) + "\n")


def _write_cadvisor(timeline: Timeline, out: TextIO) -> None:
    base = {"namespace": NAMESPACE, "job": "kubelet", "service": "kubelet"}
    out.write("# TYPE container_cpu_usage_seconds counter\n")
    for service in timeline.services:
        for container in (CONTAINER.get(service, service), "istio-proxy", "POD", ""):
            for pod_phase in ("old", "new") if service == ROOT else ("old",):
                total = 0.0
                for t in timeline.times():
                    pod = pods(service, t, timeline)
                    if (pod_phase == "new") != (pod == pods(ROOT, timeline.end, timeline)):
                        continue
                    busy = 0.05 * RATE.get(service, 2.0) / 10 if container != "POD" else 0.001
                    if service == ROOT and t >= timeline.onset and container == "server":
                        busy *= 3
                    total += busy * SCRAPE_S
                    labels = {**base, "pod": pod, "container": container}
                    out.write(f"container_cpu_usage_seconds_total{_labels(labels)} {total:.4f} {t:.3f}\n")
    out.write("# TYPE container_memory_working_set_bytes gauge\n")
    for service in timeline.services:
        for container in (CONTAINER.get(service, service), "istio-proxy"):
            for t in timeline.times():
                memory = 200e6 if container != "istio-proxy" else 60e6
                if service == ROOT and container == "server" and t >= timeline.rollout:
                    memory += 4e5 * ((t - timeline.rollout) if t < timeline.oom else (t - timeline.oom))
                labels = {**base, "pod": pods(service, t, timeline), "container": container}
                out.write(f"container_memory_working_set_bytes{_labels(labels)} {memory:.0f} {t:.3f}\n")


def _write_kube_state(timeline: Timeline, out: TextIO) -> None:
    base = {"namespace": NAMESPACE, "job": "kube-state-metrics"}
    out.write("# TYPE kube_pod_container_status_restarts counter\n")
    for service in timeline.services:
        for t in timeline.times():
            restarts = 1 if service == ROOT and t >= timeline.oom else 0
            labels = {**base, "pod": pods(service, t, timeline), "container": CONTAINER.get(service, service)}
            out.write(f"kube_pod_container_status_restarts_total{_labels(labels)} {restarts} {t:.3f}\n")
    out.write("# TYPE kube_pod_container_status_last_terminated_reason gauge\n")
    labels = {**base, "pod": pods(ROOT, timeline.end, timeline), "container": "server", "reason": "OOMKilled"}
    for t in timeline.times():
        if t >= timeline.oom:
            out.write(f"kube_pod_container_status_last_terminated_reason{_labels(labels)} 1 {t:.3f}\n")
    out.write("# TYPE kube_deployment_metadata_generation gauge\n")
    for service in timeline.services:
        for t in timeline.times():
            generation = 2 if service == ROOT and t >= timeline.rollout else 1
            labels = {**base, "deployment": service}
            out.write(f"kube_deployment_metadata_generation{_labels(labels)} {generation} {t:.3f}\n")
    out.write("# TYPE kube_deployment_status_replicas_unavailable gauge\n")
    for service in timeline.services:
        for t in timeline.times():
            labels = {**base, "deployment": service}
            out.write(f"kube_deployment_status_replicas_unavailable{_labels(labels)} 0 {t:.3f}\n")
    replicasets = {
        s: (pods(s, timeline.start, timeline).rsplit("-", 1)[0], timeline.start - 86400)
        for s in timeline.services
    }
    new_rs = (pods(ROOT, timeline.end, timeline).rsplit("-", 1)[0], timeline.rollout)
    rows = [(s, rs, created) for s, (rs, created) in replicasets.items()] + [(ROOT, *new_rs)]
    out.write("# TYPE kube_replicaset_created gauge\n")
    for _, rs, created in rows:
        for t in timeline.times():
            if t >= created:
                out.write(
                    f"kube_replicaset_created{_labels({**base, 'replicaset': rs})} {created:.0f} {t:.3f}\n"
                )
    out.write("# TYPE kube_replicaset_owner gauge\n")
    for service, rs, created in rows:
        labels = {
            **base,
            "replicaset": rs,
            "owner_kind": "Deployment",
            "owner_name": service,
            "owner_is_controller": "true",
        }
        for t in timeline.times():
            if t >= created:
                out.write(f"kube_replicaset_owner{_labels(labels)} 1 {t:.3f}\n")


def write_openmetrics(family: str, timeline: Timeline, path: Path) -> Path:
    """The whole estate's metrics with RED from `family`, for `promtool tsdb create-blocks-from`."""
    with path.open("w", encoding="utf-8") as out:
        _write_red(family, timeline, out)
        _write_cadvisor(timeline, out)
        _write_kube_state(timeline, out)
        out.write("# EOF\n")
    return path


def log_streams(timeline: Timeline) -> list[dict[str, Any]]:
    """Loki streams as Promtail labels them: access lines, catalog's chatter, payment's exceptions."""
    rng = random.Random(7)
    streams: dict[tuple[str, str], list[list[str]]] = {}

    def line(service: str, t: float, text: str, level: str = "info") -> None:
        streams.setdefault((service, level), []).append([str(int(t * 1e9)), text])

    t = timeline.start
    while t < timeline.end:
        for service in timeline.services:
            line(service, t + rng.random(), f"GET /api 200 {rng.randint(5, 40)}ms")
        t += 10
    t = timeline.start
    while t < timeline.onset - 600:
        line("catalog", t, f"WARN cache refresh timeout for key={rng.randint(1, 9999)}, retrying", "warn")
        t += 2
    dump_at = timeline.start + 300.123456789
    for i in range(1100):
        streams.setdefault(("catalog", "warn"), []).append(
            [str(int(dump_at * 1e9)), f"WARN deprecated setting #{i} ignored"]
        )
    t = timeline.onset
    while t < timeline.end:
        line("payment", t, NPE.format(line=rng.randint(80, 90), order=rng.randint(10**6, 10**7)), "error")
        line(
            "checkout",
            t + 0.05,
            f"ERROR payment call failed: HTTP 500 from payment order={rng.randint(10**6, 10**7)}",
            "error",
        )
        t += 4
    result = []
    for (service, level), values in streams.items():
        labels = {
            "namespace": NAMESPACE,
            "app": service,
            "container": CONTAINER.get(service, service),
            "job": f"{NAMESPACE}/{service}",
            "level": level,
            "stream": "stdout",
        }
        result.append({"stream": labels, "values": sorted(values)})
    return result


def catalog_error_lines(timeline: Timeline) -> int:
    """How many of catalog's lines the evidence filter selects (all its WARN lines)."""
    total = 0
    for stream in log_streams(timeline):
        labels, values = stream["stream"], stream["values"]
        if (
            isinstance(labels, dict)
            and isinstance(values, list)
            and labels == {**labels, "app": "catalog", "level": "warn"}
        ):
            total += len(values)
    return total
