"""Prometheus's HTTP query API, read-only: range queries, series, label values and the scrape interval.

Only shapes are checked here; what the numbers mean is the `prometheus_query_range` tool's business.
What the real server imposes is handled here once: at most 11,000 points per series (the step grows
with the window), `warnings`/`infos` annotations kept in `notes` (partial data is still data, but the
answer must say so), and the scrape interval read from the server so rate windows can cover it.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Any

from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient

MAX_POINTS = 11_000
_INTERVAL = re.compile(r"^\s*scrape_interval:\s*(\d+(?:\.\d+)?)(ms|s|m|h)\s*$", re.M)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class RangeSeries:
    """One series of a matrix result: its labels and (unix seconds, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


def fit_step(start: float, end: float, step: float, max_points: int = MAX_POINTS) -> float:
    """`step`, grown (to whole seconds) so that [start, end] has at most `max_points` points."""
    span = max(0.0, end - start)
    needed = span / (max_points - 1) if max_points > 1 else span
    return float(max(step, math.ceil(needed)))


def scrape_interval_in(config_yaml: str) -> float | None:
    """The longest `scrape_interval` of a Prometheus configuration (global or per job), in seconds."""
    found = [float(value) * _UNIT_S[unit] for value, unit in _INTERVAL.findall(config_yaml)]
    return max(found) if found else None


def _data(payload: Any, path: str, notes: list[str] | None = None) -> Any:
    if not isinstance(payload, dict) or payload.get("status") != "success" or "data" not in payload:
        error = payload.get("error") if isinstance(payload, dict) else None
        raise BackendUnavailable(
            Backend.PROMETHEUS, f"unexpected answer on {path}: {str(error or payload)[:120]}"
        )
    if notes is not None:
        for kind in ("warnings", "infos"):
            notes.extend(f"{kind[:-1]}: {str(n)[:200]}" for n in payload.get(kind) or [])
    return payload["data"]


@dataclass
class PrometheusClient:
    """Typed reads of one Prometheus through the read-only client; annotations collect in `notes`."""

    client: ReadOnlyClient
    notes: list[str] = field(default_factory=list)

    async def query_range(self, query: str, start: float, end: float, step: float) -> list[RangeSeries]:
        """Evaluate `query` over [start, end] every `step` seconds (grown to stay under 11,000 points)."""
        path = "/api/v1/query_range"
        step = fit_step(start, end, step)
        params = [("query", query), ("start", f"{start:.3f}"), ("end", f"{end:.3f}"), ("step", f"{step:g}")]
        payload = await self.client.get_json(Backend.PROMETHEUS, path, params)
        data = _data(payload, path, self.notes)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a matrix")
        # Every point a float from a string: in the analysis's lane, off the event loop.
        return await self.client.lane.run(_matrix, data, path)

    async def series(self, matchers: list[str], start: float, end: float) -> list[dict[str, str]]:
        """Label sets of the series matching any of `matchers` in [start, end]."""
        path = "/api/v1/series"
        params: list[tuple[str, str | int | float]] = [("match[]", m) for m in matchers]
        params += [("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        data = _data(await self.client.get_json(Backend.PROMETHEUS, path, params), path, self.notes)
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a list")
        return [{str(k): str(v) for k, v in item.items()} for item in data if isinstance(item, dict)]

    async def label_values(self, label: str, start: float, end: float, matchers: list[str] = []) -> list[str]:  # noqa: B006
        """Values of `label` seen in [start, end], optionally among series matching `matchers`."""
        path = f"/api/v1/label/{label}/values"
        params: list[tuple[str, str | int | float]] = [("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        params += [("match[]", m) for m in matchers]
        data = _data(await self.client.get_json(Backend.PROMETHEUS, path, params), path, self.notes)
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a list")
        return sorted(str(v) for v in data)

    async def label_names(self, matchers: list[str], start: float, end: float) -> list[str]:
        """Label names of the series matching `matchers` in [start, end]."""
        path = "/api/v1/labels"
        params: list[tuple[str, str | int | float]] = [("match[]", m) for m in matchers]
        params += [("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        data = _data(await self.client.get_json(Backend.PROMETHEUS, path, params), path, self.notes)
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a list")
        return sorted(str(v) for v in data)

    async def scrape_interval(self) -> float | None:
        """The longest scrape interval in the server's configuration; None when it does not say.

        Thanos, Mimir and Cortex do not serve `/api/v1/status/config`: that is not an error.
        """
        path = "/api/v1/status/config"
        try:
            data = _data(await self.client.get_json(Backend.PROMETHEUS, path), path)
        except BackendUnavailable:
            return None
        return scrape_interval_in(str(data.get("yaml", ""))) if isinstance(data, dict) else None


def _matrix(data: dict[str, Any], path: str) -> list[RangeSeries]:
    """The series of a `matrix` answer, each point as (time, value) floats."""
    result: list[RangeSeries] = []
    try:
        for item in data["result"]:
            points = [(float(t), float(v)) for t, v in item["values"]]
            result.append(RangeSeries({str(k): str(v) for k, v in item["metric"].items()}, points))
    except (KeyError, TypeError, ValueError):
        raise BackendUnavailable(Backend.PROMETHEUS, f"{path} answered a malformed matrix") from None
    return result
