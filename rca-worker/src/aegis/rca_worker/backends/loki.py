"""Loki's HTTP query API, read-only: log range queries (paged by the caller) and label values."""

from dataclasses import dataclass
from typing import Any

from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient


@dataclass(frozen=True)
class LogLine:
    """One log line: its stream labels, time in unix nanoseconds, and text."""

    labels: dict[str, str]
    time_ns: int
    line: str


def _data(payload: Any, path: str) -> Any:
    if not isinstance(payload, dict) or payload.get("status") != "success" or "data" not in payload:
        raise BackendUnavailable(Backend.LOKI, f"unexpected answer on {path}: {str(payload)[:120]}")
    return payload["data"]


class LokiClient:
    """Typed reads of one Loki through the read-only client (tenant header set by the endpoint)."""

    def __init__(self, client: ReadOnlyClient) -> None:
        self._client = client

    async def query_range(self, query: str, start_ns: int, end_ns: int, limit: int) -> list[LogLine]:
        """Up to `limit` lines of `query` in [start_ns, end_ns), oldest first."""
        path = "/loki/api/v1/query_range"
        params: list[tuple[str, str | int | float]] = [
            ("query", query),
            ("start", str(start_ns)),
            ("end", str(end_ns)),
            ("limit", limit),
            ("direction", "forward"),
        ]
        data = _data(await self._client.get_json(Backend.LOKI, path, params), path)
        if not isinstance(data, dict) or data.get("resultType") != "streams":
            raise BackendUnavailable(Backend.LOKI, f"{path} did not answer streams")
        lines: list[LogLine] = []
        try:
            for stream in data["result"]:
                labels = {str(k): str(v) for k, v in stream["stream"].items()}
                lines.extend(LogLine(labels, int(ts), str(text)) for ts, text, *_ in stream["values"])
        except (KeyError, TypeError, ValueError):
            raise BackendUnavailable(Backend.LOKI, f"{path} answered malformed streams") from None
        lines.sort(key=lambda line: line.time_ns)
        return lines[:limit]

    async def label_values(self, label: str, start_ns: int, end_ns: int) -> list[str]:
        """Values of the stream label `label` in the window."""
        path = f"/loki/api/v1/label/{label}/values"
        params: list[tuple[str, str | int | float]] = [("start", str(start_ns)), ("end", str(end_ns))]
        data = _data(await self._client.get_json(Backend.LOKI, path, params), path)
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.LOKI, f"{path} did not answer a list")
        return sorted(str(v) for v in data)
