"""A loopback Loki: `query_range`, `labels`, `label/<name>/values` and `series` over a scenario's logs.

LogQL support is what log *queries* need: a stream selector with `=`, `!=`, `=~`, `!~` matchers and
line filters `|=`, `!=`, `|~`, `!~`, with `limit` and `direction`, answered in Loki's `streams` shape.
Metric queries (`rate(...)`) answer Loki's parse error. `X-Scope-OrgID` is recorded by the server.
"""

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict

from aegis.simulator.fakes.http import FakeResponse, Params, not_found
from aegis.simulator.logs import LogRecord
from aegis.simulator.telemetry import ScenarioTelemetry

_SELECTOR = re.compile(r"^\s*\{([^}]*)\}\s*(.*)$", re.S)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_FILTER = re.compile(r'\s*(\|=|!=|\|~|!~)\s*"((?:[^"\\]|\\.)*)"')


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
            return FakeResponse(200, {"status": "success", "data": values})
        if path == "/loki/api/v1/series":
            streams = sorted({tuple(sorted(labels_of(r).items())) for r in self.records})
            return FakeResponse(200, {"status": "success", "data": [dict(s) for s in streams]})
        return not_found(path)

    def _range(self, args: dict[str, str]) -> FakeResponse:
        parsed = parse_log_query(args.get("query", ""))
        if parsed is None:
            return FakeResponse(
                400, {"status": "error", "error": "parse error: only log queries are supported"}
            )
        matchers, filters = parsed
        start = int(args.get("start", "0"))
        end = int(args.get("end", str(2**62)))
        limit = int(args.get("limit", "100"))
        forward = args.get("direction", "backward") == "forward"
        lo, hi = bisect_left(self.times, start), bisect_right(self.times, end - 1)
        window = self.records[lo:hi] if forward else list(reversed(self.records[lo:hi]))
        picked: list[LogRecord] = []
        for record in window:
            if _label_ok(labels_of(record), matchers) and _line_ok(record.line, filters):
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
