"""A loopback Prometheus for environments without the binary: the query API over a scenario's signals.

It does not evaluate PromQL. It recognises the query shapes of the built-in templates (the
`prometheus-http` family plus cAdvisor and kube-state-metrics, which is what the simulator
exports) and answers them from the same signal series the OpenMetrics file is written from; a
query over metrics it does not hold answers an empty matrix, as Prometheus does. Like the real
server it refuses more than 11,000 points per series (400 `bad_data`), serves its configuration's
scrape interval and answers the discovery endpoints. Tests that need real PromQL use the real binary.
"""

import re
from bisect import bisect_right

from aegis.rca_worker.evidence import (
    CPU,
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    MEMORY,
    REQUEST_RATE,
    RESTARTS,
)
from aegis.simulator.estate import Estate
from aegis.simulator.fakes.http import FakeResponse, Params, not_found
from aegis.simulator.signals import Series
from aegis.simulator.telemetry import ScenarioTelemetry

FAMILIES: dict[str, tuple[str, str]] = {
    "http_requests_total": ("service", REQUEST_RATE),
    "http_request_duration_seconds_bucket": ("service", LATENCY_P95),
    "http_request_duration_seconds_count": ("service", REQUEST_RATE),
    "container_cpu_usage_seconds_total": ("container", CPU),
    "container_memory_working_set_bytes": ("container", MEMORY),
    "kube_pod_container_status_restarts_total": ("container", RESTARTS),
}
GAUGES = {MEMORY, RESTARTS}
_MATCHER = re.compile(r'(service|container)=~?"((?:[^"\\]|\\.)*)"')
MAX_POINTS = 11_000
CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n"


def _ok(data: object) -> FakeResponse:
    return FakeResponse(200, {"status": "success", "data": data})


def _bad(message: str) -> FakeResponse:
    return FakeResponse(400, {"status": "error", "errorType": "bad_data", "error": message})


def _family_services(estate: Estate, family: str) -> list[str]:
    label, _ = FAMILIES[family]
    return list(estate.services) if label == "container" else estate.http_services


def _families_in(text: str) -> list[str]:
    return [f for f in FAMILIES if re.search(rf"(?<![\w]){f}(?![\w])|__name__=\"{f}\"", text)]


def _signal(query: str) -> tuple[str, str] | None:
    families = _families_in(query)
    if not families:
        return None
    label, signal = FAMILIES[families[0]]
    if "histogram_quantile(0.99" in query:
        signal = LATENCY_P99
    elif "histogram_quantile(0.95" in query:
        signal = LATENCY_P95
    elif re.search(r'(code|status|status_code)=~"5', query):
        signal = ERROR_RATIO
    return label, signal


def _services(estate: Estate, query: str) -> list[str]:
    match = _MATCHER.search(query)
    if match is None or match.group(0).endswith('!=""') or '!="' in match.group(0):
        return list(estate.services)
    wanted = set(match.group(2).replace("\\\\", "\\").replace("\\", "").split("|"))
    return [s for s in estate.services if s in wanted]


def _value_at(points: Series, times: list[float], t: float, lookback: float) -> float | None:
    i = bisect_right(times, t) - 1
    if i < 0 or t - times[i] > lookback:
        return None
    return points[i][1]


class FakePrometheus:
    """Answers the read endpoints of Prometheus's HTTP API from one scenario."""

    def __init__(self, telemetry: ScenarioTelemetry) -> None:
        self.telemetry = telemetry
        self.estate = telemetry.scenario.estate

    def handle(self, method: str, path: str, params: Params) -> FakeResponse:
        """One request of Prometheus's HTTP API."""
        if method != "GET" and path not in ("/api/v1/query", "/api/v1/query_range"):
            return FakeResponse(405, {"status": "error", "error": "method not allowed"})
        args = dict(params)
        matches = [v for k, v in params if k == "match[]"]
        if path == "/api/v1/query_range":
            return self._range(args)
        if path == "/api/v1/labels":
            return _ok(self._label_names(matches))
        if path == "/api/v1/status/config":
            return _ok({"yaml": CONFIG})
        if path.startswith("/api/v1/label/") and path.endswith("/values"):
            return _ok(self._label_values(path.split("/")[4], matches))
        if path == "/api/v1/series":
            return _ok(self._series(matches))
        if path in ("/api/v1/metadata", "/api/v1/rules", "/api/v1/alerts"):
            return _ok({} if path == "/api/v1/metadata" else {"groups": [], "alerts": []})
        return not_found(path)

    def _label_names(self, matches: list[str]) -> list[str]:
        families = [f for m in matches for f in _families_in(m)] if matches else list(FAMILIES)
        names = {"__name__"}
        for family in families:
            names |= {FAMILIES[family][0], "namespace"}
            if family.startswith("http_"):
                names |= {"code"} if family == "http_requests_total" else {"le"}
        return sorted(names)

    def _label_values(self, label: str, matches: list[str]) -> list[str]:
        families = [f for m in matches for f in _families_in(m)] if matches else list(FAMILIES)
        if label == "__name__":
            return sorted(set(families))
        values: set[str] = set()
        for family in families:
            if FAMILIES[family][0] == label:
                values.update(_family_services(self.estate, family))
        return sorted(values)

    def _series(self, matches: list[str]) -> list[dict[str, str]]:
        result = []
        for match in matches:
            for family in _families_in(match):
                label = FAMILIES[family][0]
                for service in _services(self.estate, match):
                    if service not in _family_services(self.estate, family):
                        continue
                    if family == "http_requests_total":
                        result += [{"__name__": family, label: service, "code": c} for c in ("200", "500")]
                    else:
                        result.append({"__name__": family, label: service})
        return result

    def _range(self, args: dict[str, str]) -> FakeResponse:
        try:
            query, start, end, step = (
                args["query"],
                float(args["start"]),
                float(args["end"]),
                float(args["step"]),
            )
        except (KeyError, ValueError):
            return _bad("query, start, end and step are required")
        if step <= 0:
            return _bad(
                'invalid parameter "step": zero or negative query resolution step widths are not accepted'
            )
        if (end - start) / step > MAX_POINTS:
            return _bad(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        recognised = _signal(query)
        if recognised is None:
            return _ok({"resultType": "matrix", "result": []})
        label, signal = recognised
        relabelled = "aegis_service" in query
        lookback = 300.0 if signal in GAUGES else 60.0
        grid = [start + i * step for i in range(int((end - start) / step) + 1)]
        result = []
        for service in _services(self.estate, query):
            points = self.telemetry.series.get((service, signal))
            if not points:
                continue
            times = [t for t, _ in points]
            values = []
            for t in grid:
                value = _value_at(points, times, t, lookback)
                if value is not None:
                    values.append([round(t, 3), repr(float(value))])
            if values:
                metric = (
                    {"aegis_service": service, "aegis_namespace": "shop"} if relabelled else {label: service}
                )
                result.append({"metric": metric, "values": values})
        return _ok({"resultType": "matrix", "result": result})
