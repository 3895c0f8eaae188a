"""A loopback Jaeger query service: services, operations, trace search, trace by id, dependencies.

Search follows Jaeger's semantics where they matter to a reader: `service` must appear in the trace,
`tags` must match a span of that service, `minDuration` applies to that service's spans, results are
the most recent first, cut at `limit`. Times are microseconds, `lookback`/`endTs` milliseconds.
"""

import json
import re
from collections import Counter

from aegis.simulator.fakes.http import FakeResponse, Params, not_found
from aegis.simulator.telemetry import ScenarioTelemetry
from aegis.simulator.traces import TraceRecord

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(us|µs|ms|s)$")
_UNIT_US = {"us": 1, "µs": 1, "ms": 1000, "s": 1_000_000}


def _ok(data: object) -> FakeResponse:
    return FakeResponse(
        200,
        {
            "data": data,
            "total": len(data) if isinstance(data, list) else 0,
            "limit": 0,
            "offset": 0,
            "errors": None,
        },
    )


def _bad(message: str) -> FakeResponse:
    return FakeResponse(
        400, {"data": None, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": 400, "msg": message}]}
    )


def _span_tags_match(record: TraceRecord, service: str, tags: dict[str, str]) -> bool:
    pid = next((p for p, proc in record.json["processes"].items() if proc["serviceName"] == service), None)
    for span in record.json["spans"]:
        if span["processID"] != pid:
            continue
        have = {
            t["key"]: str(t["value"]).lower() if isinstance(t["value"], bool) else str(t["value"])
            for t in span["tags"]
        }
        if all(have.get(k) == v for k, v in tags.items()):
            return True
    return False


class FakeJaeger:
    """Answers Jaeger's query HTTP API from one scenario's traces.

    `dependencies` picks what `/api/dependencies` does: `computed` (the in-memory store), `empty`
    (`[]`, Elasticsearch/Cassandra without the spark job) or `unsupported` (VictoriaTraces' 400).
    """

    def __init__(self, telemetry: ScenarioTelemetry, dependencies: str = "computed") -> None:
        self.dependencies = dependencies
        self.traces = telemetry.traces
        self.by_id = {t.trace_id: t for t in self.traces}

    def handle(self, method: str, path: str, params: Params) -> FakeResponse:
        """One request of Jaeger's query API."""
        if method != "GET":
            return FakeResponse(405, {"data": None, "errors": [{"code": 405, "msg": "method not allowed"}]})
        args = dict(params)
        if path == "/api/services":
            # The in-memory store answers `"data": null`, not `[]`, when it holds nothing.
            return _ok(sorted({s for t in self.traces for s in t.services}) or None)
        if path.startswith("/api/services/") and path.endswith("/operations"):
            service = path.split("/")[3]
            return _ok([f"{service}.Handle"])
        if path == "/api/traces":
            return self._search(args)
        if path.startswith("/api/traces/"):
            found = self.by_id.get(path.rsplit("/", 1)[1])
            if found is None:
                return FakeResponse(404, {"data": None, "errors": [{"code": 404, "msg": "trace not found"}]})
            return _ok([found.json])
        if path == "/api/dependencies":
            if self.dependencies == "unsupported":
                return FakeResponse(400, "/api/dependencies API is not supported yet.")
            return _ok([]) if self.dependencies == "empty" else self._dependencies(args)
        return not_found(path)

    def _search(self, args: dict[str, str]) -> FakeResponse:
        service = args.get("service")
        if not service:
            return _bad("parameter 'service' is required")
        try:
            start = int(args.get("start", "0"))
            end = int(args.get("end", str(2**62)))
            limit = int(args.get("limit", "20"))
            tags: dict[str, str] = json.loads(args["tags"]) if "tags" in args else {}
        except ValueError as error:
            return _bad(f"bad parameter: {error}")
        min_us = 0
        if "minDuration" in args:
            match = _DURATION.match(args["minDuration"])
            if not match:
                return _bad(f"cannot parse minDuration {args['minDuration']!r}")
            min_us = int(float(match.group(1)) * _UNIT_US[match.group(2)])
        found: list[TraceRecord] = []
        for record in reversed(self.traces):
            if not start <= record.start_us <= end or service not in record.services:
                continue
            if min_us and record.max_duration_us.get(service, 0) < min_us:
                continue
            if tags and not _span_tags_match(record, service, tags):
                continue
            found.append(record)
            if len(found) >= limit:
                break
        return _ok([r.json for r in found])

    def _dependencies(self, args: dict[str, str]) -> FakeResponse:
        end_us = int(args.get("endTs", str(2**50))) * 1000
        start_us = end_us - int(args.get("lookback", str(86_400_000))) * 1000
        calls: Counter[tuple[str, str]] = Counter()
        for record in self.traces:
            if not start_us <= record.start_us <= end_us:
                continue
            spans = {s["spanID"]: s for s in record.json["spans"]}
            names = {p: proc["serviceName"] for p, proc in record.json["processes"].items()}
            for span in record.json["spans"]:
                parent = spans.get(span["references"][0]["spanID"]) if span["references"] else None
                me = names[span["processID"]]
                if parent is not None and names[parent["processID"]] != me:
                    calls[(names[parent["processID"]], me)] += 1
                peer = next((t["value"] for t in span["tags"] if t["key"] == "peer.service"), None)
                if peer and peer != me and "db.system" in {t["key"] for t in span["tags"]}:
                    calls[(me, str(peer))] += 1
        return _ok([{"parent": a, "child": b, "callCount": n} for (a, b), n in sorted(calls.items())])
