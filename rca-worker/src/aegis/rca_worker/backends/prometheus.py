"""Prometheus's HTTP query API, read-only: range queries, series and label values, decoded.

Only shapes are checked here; what the numbers mean is the `prometheus_query_range` tool's business.
"""

from dataclasses import dataclass
from typing import Any

from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient


@dataclass(frozen=True)
class RangeSeries:
    """One series of a matrix result: its labels and (unix seconds, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


def _data(payload: Any, path: str) -> Any:
    if not isinstance(payload, dict) or payload.get("status") != "success" or "data" not in payload:
        error = payload.get("error") if isinstance(payload, dict) else None
        raise BackendUnavailable(
            Backend.PROMETHEUS, f"unexpected answer on {path}: {str(error or payload)[:120]}"
        )
    return payload["data"]


class PrometheusClient:
    """Typed reads of one Prometheus through the read-only client."""

    def __init__(self, client: ReadOnlyClient) -> None:
        self._client = client

    async def query_range(self, query: str, start: float, end: float, step: float) -> list[RangeSeries]:
        """Evaluate `query` over [start, end] every `step` seconds."""
        path = "/api/v1/query_range"
        params = [("query", query), ("start", f"{start:.3f}"), ("end", f"{end:.3f}"), ("step", f"{step:g}")]
        data = _data(await self._client.get_json(Backend.PROMETHEUS, path, params), path)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a matrix")
        result: list[RangeSeries] = []
        try:
            for item in data["result"]:
                points = [(float(t), float(v)) for t, v in item["values"]]
                result.append(RangeSeries({str(k): str(v) for k, v in item["metric"].items()}, points))
        except (KeyError, TypeError, ValueError):
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} answered a malformed matrix") from None
        return result

    async def series(self, matchers: list[str], start: float, end: float) -> list[dict[str, str]]:
        """Label sets of the series matching any of `matchers` in [start, end]."""
        path = "/api/v1/series"
        params: list[tuple[str, str | int | float]] = [("match[]", m) for m in matchers]
        params += [("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        data = _data(await self._client.get_json(Backend.PROMETHEUS, path, params), path)
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a list")
        return [{str(k): str(v) for k, v in item.items()} for item in data if isinstance(item, dict)]

    async def label_values(self, label: str, start: float, end: float, matchers: list[str] = []) -> list[str]:  # noqa: B006
        """Values of `label` seen in [start, end], optionally among series matching `matchers`."""
        path = f"/api/v1/label/{label}/values"
        params: list[tuple[str, str | int | float]] = [("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        params += [("match[]", m) for m in matchers]
        data = _data(await self._client.get_json(Backend.PROMETHEUS, path, params), path)
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.PROMETHEUS, f"{path} did not answer a list")
        return sorted(str(v) for v in data)
