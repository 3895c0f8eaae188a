"""A loopback Loki: `query_range`, `labels`, `label/<name>/values` and `series` over a scenario's logs.

LogQL support is what log *queries* need: a stream selector with `=`, `!=`, `=~`, `!~` matchers and
line filters `|=`, `!=`, `|~`, `!~`, with `limit` and `direction`, answered in Loki's `streams` shape,
plus the one metric shape the engine sends, `sum [by (label)] (count_over_time(<log query> [Ns]))`.
It answers the way Loki 3.3 does: errors as `text/plain` 400s (parse error, `limit` above
`max_entries_limit` 5,000, a range over 721 h), a label with no values as `success` without `data`.
`X-Scope-OrgID` is recorded by the server.
"""

import re
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict

from aegis.simulator.fakes.http import FakeResponse, Params, not_found
from aegis.simulator.logs import LogRecord
from aegis.simulator.telemetry import ScenarioTelemetry

_SELECTOR = re.compile(r'^\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}\s*(.*)$', re.S)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_FILTER = re.compile(r'\s*(\|=|!=|\|~|!~)\s*"((?:[^"\\]|\\.)*)"')
_COUNT = re.compile(
    r"^\s*sum\s*(?:by\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*)?\(\s*count_over_time\s*\((.*)\[(\d+)s\]\s*\)\s*\)\s*$",
    re.S,
)
MAX_ENTRIES = 5000
MAX_RANGE_NS = 721 * 3600 * 10**9


def _unquote(text: str) -> str:
    return text.encode().decode("unicode_escape")


def labels_of(record: LogRecord) -> dict[str, str]:
    """The stream labels the simulator attaches to a line (`app`, `service_name`, `level`, `namespace`)."""
    return {"app": record.service, "service_name": record.service, "level": record.level, "namespace": "shop"}


def parse_log_query(query: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]] | None:
    """(matchers, line filters) of a LogQL log query, or None if it is not one."""
    found = _SELECTOR.match(query)
    if not found:
        return None
    body, rest = found.groups()
    matchers = [(k, op, _unquote(v)) for k, op, v in _MATCHER.findall(body)]
    if not matchers:
        return None
    filters = [(op, _unquote(v)) for op, v in _FILTER.findall(rest)]
    if _FILTER.sub("", rest).strip():
        return None
    return matchers, filters


def _label_ok(labels: dict[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    for key, op, value in matchers:
        have = labels.get(key, "")
        hit = re.fullmatch(value, have) is not None if op in ("=~", "!~") else have == value
        if hit != (op in ("=", "=~")):
            return False
    return True


class _StreamMatch:
    """Whether each stream (a service and level) passes a query's label matchers, decided once per
    stream: a scenario has a few dozen streams and tens of thousands of lines."""

    def __init__(self, matchers: list[tuple[str, str, str]]) -> None:
        self.matchers = matchers
        self.seen: dict[tuple[str, str], bool] = {}

    def __call__(self, record: LogRecord) -> bool:
        key = (record.service, record.level)
        hit = self.seen.get(key)
        if hit is None:
            hit = self.seen[key] = _label_ok(labels_of(record), self.matchers)
        return hit


def _line_ok(line: str, filters: list[tuple[str, str]]) -> bool:
    for op, value in filters:
        hit = re.search(value, line) is not None if op in ("|~", "!~") else value in line
        if hit != (op in ("|=", "|~")):
            return False
    return True


class FakeLoki:
    """Answers Loki's log query API from one scenario's log lines."""

    def __init__(self, telemetry: ScenarioTelemetry) -> None:
        self.records = telemetry.logs
        self.times = [r.time_ns for r in self.records]

    def handle(self, method: str, path: str, params: Params) -> FakeResponse:
        """One request of Loki's HTTP API."""
        if method != "GET":
            return FakeResponse(405, {"status": "error", "error": "method not allowed"})
        args = dict(params)
        if path == "/loki/api/v1/query_range":
            return self._range(args)
        if path == "/loki/api/v1/labels":
            return FakeResponse(
                200, {"status": "success", "data": ["app", "level", "namespace", "service_name"]}
            )
        if path.startswith("/loki/api/v1/label/") and path.endswith("/values"):
            name = path.split("/")[5]
            values = sorted({labels_of(r).get(name, "") for r in self.records} - {""})
            return FakeResponse(200, {"status": "success", **({"data": values} if values else {})})
        if path == "/loki/api/v1/series":
            streams = sorted({tuple(sorted(labels_of(r).items())) for r in self.records})
            return FakeResponse(200, {"status": "success", "data": [dict(s) for s in streams]})
        return not_found(path)

    def _range(self, args: dict[str, str]) -> FakeResponse:
        end = int(args.get("end", str(time.time_ns())))
        start = int(args.get("start", str(end - 3600 * 10**9)))  # Loki's defaults: the last hour
        if end - start > MAX_RANGE_NS:
            hours = (end - start) // (3600 * 10**9)
            return FakeResponse(
                400, f"the query time range exceeds the limit (query length: {hours}h, limit: 721h)"
            )
        counting = _COUNT.match(args.get("query", ""))
        if counting is not None:
            return self._count(counting, start, end, args)
        parsed = parse_log_query(args.get("query", ""))
        if parsed is None:
            return FakeResponse(400, "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
        matchers, filters = parsed
        limit = int(args.get("limit", "100"))
        if limit > MAX_ENTRIES:
            return FakeResponse(
                400,
                f"max entries limit per query exceeded, limit > max_entries_limit ({limit} > {MAX_ENTRIES})",
            )
        forward = args.get("direction", "backward") == "forward"
        lo, hi = bisect_left(self.times, start), bisect_right(self.times, end - 1)
        window = self.records[lo:hi] if forward else list(reversed(self.records[lo:hi]))
        picked: list[LogRecord] = []
        streamed = _StreamMatch(matchers)
        for record in window:
            if streamed(record) and _line_ok(record.line, filters):
                picked.append(record)
                if len(picked) >= limit:
                    break
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = defaultdict(list)
        for record in picked:
            streams[tuple(sorted(labels_of(record).items()))].append([str(record.time_ns), record.line])
        result = [{"stream": dict(k), "values": v} for k, v in sorted(streams.items())]
        data = {
            "resultType": "streams",
            "result": result,
            "stats": {"summary": {"totalLinesProcessed": hi - lo}},
        }
        return FakeResponse(200, {"status": "success", "data": data})

    def _count(self, counting: re.Match[str], start: int, end: int, args: dict[str, str]) -> FakeResponse:
        by, inner, range_s = counting.group(1), counting.group(2), int(counting.group(3))
        parsed = parse_log_query(inner.strip())
        step_text = args.get("step", "60s").rstrip("s")
        if parsed is None or not step_text.replace(".", "", 1).isdigit():
            return FakeResponse(400, "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
        matchers, filters = parsed
        step_ns = int(float(step_text) * 1e9)
        range_ns = range_s * 10**9
        grid = list(range(start, end + 1, max(1, step_ns)))
        counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(grid))
        lo, hi = bisect_left(self.times, start - range_ns), bisect_right(self.times, end)
        streamed = _StreamMatch(matchers)
        for record in self.records[lo:hi]:
            if not (streamed(record) and _line_ok(record.line, filters)):
                continue
            key = labels_of(record).get(by, "") if by else ""
            first = bisect_left(grid, record.time_ns)
            last = bisect_right(grid, record.time_ns + range_ns)
            for i in range(first, last):
                if grid[i] - range_ns < record.time_ns <= grid[i]:
                    counts[key][i] += 1
        result = [
            {
                "metric": {by: key} if by else {},
                "values": [[t / 1e9, str(c)] for t, c in zip(grid, row, strict=True) if c],
            }
            for key, row in sorted(counts.items())
        ]
        return FakeResponse(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})
