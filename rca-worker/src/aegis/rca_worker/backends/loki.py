"""Loki's HTTP query API, read-only: log range queries, paging that loses no line, metric queries.

What the real Loki does and a reader must survive: a label with no streams answers `success` with no
`data` key (no values, not a failure); `limit` is capped at 5,000 (`max_entries_limit`) and a range at
721 h (`max_query_length`), both 400s; many lines can share one nanosecond, so a page boundary never
cuts a timestamp in two; and 3.3's forward merge bug means a forward page need not be the oldest
lines, so paging reads backward (newest first: the incident first) and never assumes a prefix.
"""

from dataclasses import dataclass
from typing import Any, Literal

from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient
from aegis.rca_worker.lane import CpuLane

MAX_ENTRIES = 5_000
MAX_RANGE_NS = 721 * 3600 * 10**9
Direction = Literal["forward", "backward"]


@dataclass(frozen=True)
class LogLine:
    """One log line: its stream labels, time in unix nanoseconds, and text."""

    labels: dict[str, str]
    time_ns: int
    line: str


@dataclass(frozen=True)
class LogPages:
    """Lines read by `read_pages`, newest first, and whether the budget ran out before the window did."""

    lines: list[LogLine]
    truncated: bool
    requests: int


def _data(payload: Any, path: str) -> Any:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise BackendUnavailable(Backend.LOKI, f"unexpected answer on {path}: {str(payload)[:120]}")
    return payload.get("data")


def clamp_range(start_ns: int, end_ns: int) -> int:
    """The start of [start_ns, end_ns) cut to Loki's 721 h query length limit."""
    return max(start_ns, end_ns - MAX_RANGE_NS + 10**9)


def logql_string(value: str) -> str:
    """`value` as a LogQL double-quoted string: backslashes and quotes escaped, so it stays one value."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


class LokiClient:
    """Typed reads of one Loki through the read-only client (tenant header set by the endpoint)."""

    def __init__(self, client: ReadOnlyClient) -> None:
        self._client = client

    @property
    def lane(self) -> CpuLane:
        """Where the analysis reading through this client runs its CPU-bound stretches."""
        return self._client.lane

    async def query_range(
        self, query: str, start_ns: int, end_ns: int, limit: int, direction: Direction = "forward"
    ) -> list[LogLine]:
        """Up to `limit` (≤ 5,000) lines of `query` in [start_ns, end_ns), in `direction` order."""
        path = "/loki/api/v1/query_range"
        limit = max(1, min(limit, MAX_ENTRIES))
        params: list[tuple[str, str | int | float]] = [
            ("query", query),
            ("start", str(clamp_range(start_ns, end_ns))),
            ("end", str(end_ns)),
            ("limit", limit),
            ("direction", direction),
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
        lines.sort(key=lambda line: line.time_ns, reverse=direction == "backward")
        return lines[:limit]

    async def read_pages(
        self, query: str, start_ns: int, end_ns: int, page_limit: int, max_pages: int
    ) -> LogPages:
        """Every line of `query` in [start_ns, end_ns), newest first, within `max_pages` requests.

        Each page's oldest timestamp is re-read alone (up to 5,000 lines on that nanosecond) so that
        lines sharing it are neither lost nor counted twice; the next page ends before it.
        """
        lines: list[LogLine] = []
        cursor, requests = end_ns, 0
        while requests < max_pages:
            page = await self.query_range(query, start_ns, cursor, page_limit, "backward")
            requests += 1
            if len(page) < page_limit:
                return LogPages(lines + page, False, requests)
            oldest = page[-1].time_ns
            lines.extend(line for line in page if line.time_ns > oldest)
            tie = await self.query_range(query, oldest, oldest + 1, MAX_ENTRIES, "backward")
            requests += 1
            lines.extend(tie)
            if oldest <= start_ns:
                return LogPages(lines, False, requests)
            cursor = oldest
        return LogPages(lines, True, requests)

    async def metric_range(self, query: str, start_ns: int, end_ns: int, step_s: float) -> list[Any]:
        """The matrix of a LogQL metric query (`sum by (app) (count_over_time(...))`), raw."""
        path = "/loki/api/v1/query_range"
        params: list[tuple[str, str | int | float]] = [
            ("query", query),
            ("start", str(clamp_range(start_ns, end_ns))),
            ("end", str(end_ns)),
            ("step", f"{step_s:g}s"),
        ]
        data = _data(await self._client.get_json(Backend.LOKI, path, params), path)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise BackendUnavailable(Backend.LOKI, f"{path} did not answer a matrix")
        result = data.get("result") or []
        if not isinstance(result, list):
            raise BackendUnavailable(Backend.LOKI, f"{path} answered a malformed matrix")
        return result

    async def label_values(self, label: str, start_ns: int, end_ns: int) -> list[str]:
        """Values of the stream label `label` in the window (none when no stream carries it)."""
        path = f"/loki/api/v1/label/{label}/values"
        params: list[tuple[str, str | int | float]] = [
            ("start", str(clamp_range(start_ns, end_ns))),
            ("end", str(end_ns)),
        ]
        data = _data(await self._client.get_json(Backend.LOKI, path, params), path)
        if data is None:
            return []
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.LOKI, f"{path} did not answer a list")
        return sorted(str(v) for v in data)
