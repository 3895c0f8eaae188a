"""Jaeger's query HTTP API (the one its UI uses), read-only: services, trace search, traces, dependencies.

Shaped by what real Jaeger and VictoriaTraces answer: `"data": null` is an empty list (the in-memory
store with nothing in it), `errors` next to `data` keep the data (per-trace "not found"), and a span
is erroring by `error=true`, `otel.status_code=ERROR`, an HTTP status ≥ 500, a non-zero gRPC code or
an `exception`/`error` event. A FOLLOWS_FROM reference is a parent too (async consumers, OTel links).
"""

import json
from dataclasses import dataclass, field
from typing import Any

from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient
from aegis.rca_worker.lane import CpuLane


@dataclass(frozen=True)
class Span:
    """One span, reduced to what the analysis needs; times in microseconds."""

    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    operation: str
    start_us: int
    duration_us: int
    error: bool
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Trace:
    """A whole trace as a list of spans."""

    trace_id: str
    spans: list[Span]


def _data(payload: Any, path: str) -> Any:
    if not isinstance(payload, dict) or "data" not in payload:
        raise BackendUnavailable(Backend.JAEGER, f"unexpected answer on {path}: {str(payload)[:120]}")
    if payload["data"] is None and payload.get("errors"):
        raise BackendUnavailable(Backend.JAEGER, f"{path} answered errors: {str(payload['errors'])[:120]}")
    return payload["data"]


def _int_tag(tags: dict[str, str], *keys: str) -> int | None:
    for key in keys:
        try:
            return int(float(tags[key]))
        except (KeyError, ValueError):
            continue
    return None


def is_error(tags: dict[str, str], events: list[dict[str, str]] = []) -> bool:  # noqa: B006
    """Whether a span with these tags and span-log events failed, by every convention in use."""
    if tags.get("error") == "true" or tags.get("otel.status_code") == "ERROR":
        return True
    status = _int_tag(tags, "http.status_code", "http.response.status_code")
    if status is not None and status >= 500:
        return True
    grpc = _int_tag(tags, "rpc.grpc.status_code")
    if grpc is not None and grpc != 0:
        return True
    return any(e.get("event") in ("exception", "error") or "exception.type" in e for e in events)


def _fields(items: Any) -> dict[str, str]:
    return {
        str(t["key"]): str(t.get("value")).lower()
        if isinstance(t.get("value"), bool)
        else str(t.get("value"))
        for t in items or []
    }


def parse_trace(raw: Any) -> Trace:
    """Decode one trace of Jaeger's JSON model (spans, references, processes)."""
    processes = {pid: str(p.get("serviceName", "")) for pid, p in raw.get("processes", {}).items()}
    spans: list[Span] = []
    for item in raw["spans"]:
        tags = _fields(item.get("tags"))
        events = [_fields(entry.get("fields")) for entry in item.get("logs") or []]
        references = item.get("references") or []
        parent = next(
            (
                str(r["spanID"])
                for kind in ("CHILD_OF", "FOLLOWS_FROM")
                for r in references
                if r.get("refType") == kind and r.get("traceID", raw["traceID"]) == raw["traceID"]
            ),
            None,
        )
        if "exception.message" not in tags:
            message = next((e["exception.message"] for e in events if "exception.message" in e), None)
            if message is not None:
                tags["exception.message"] = message
        spans.append(
            Span(
                trace_id=str(item["traceID"]),
                span_id=str(item["spanID"]),
                parent_id=parent,
                service=processes.get(item.get("processID", ""), ""),
                operation=str(item.get("operationName", "")),
                start_us=int(item["startTime"]),
                duration_us=int(item["duration"]),
                error=is_error(tags, events),
                tags=tags,
            )
        )
    return Trace(str(raw["traceID"]), spans)


class JaegerClient:
    """Typed reads of one Jaeger query service through the read-only client."""

    def __init__(self, client: ReadOnlyClient) -> None:
        self._client = client

    async def services(self) -> list[str]:
        """Service names Jaeger has seen."""
        data = _data(await self._client.get_json(Backend.JAEGER, "/api/services"), "/api/services")
        data = [] if data is None else data
        if not isinstance(data, list):
            raise BackendUnavailable(Backend.JAEGER, "/api/services did not answer a list")
        return sorted(str(s) for s in data)

    async def dependencies(self, end_ms: int, lookback_ms: int) -> list[tuple[str, str, int]]:
        """(caller, callee, calls) edges of the service graph over the lookback."""
        path = "/api/dependencies"
        payload = await self._client.get_json(
            Backend.JAEGER, path, [("endTs", end_ms), ("lookback", lookback_ms)]
        )
        data = _data(payload, path)
        try:
            return [(str(d["parent"]), str(d["child"]), int(d.get("callCount", 0))) for d in data or []]
        except (KeyError, TypeError, ValueError):
            raise BackendUnavailable(Backend.JAEGER, f"{path} answered malformed edges") from None

    async def find_traces(
        self,
        service: str,
        start_us: int,
        end_us: int,
        limit: int,
        tags: dict[str, str] | None = None,
        min_duration: str | None = None,
        skip: set[str] | None = None,
    ) -> list[Trace]:
        """Traces touching `service` in the window, optionally only erroring (tags) or slow ones.

        Trace ids in `skip` are not decoded (another search already returned them); ids decoded
        here are added to it.
        """
        path = "/api/traces"
        params: list[tuple[str, str | int | float]] = [
            ("service", service),
            ("start", start_us),
            ("end", end_us),
            ("limit", limit),
        ]
        if tags:
            params.append(("tags", json.dumps(tags, sort_keys=True)))
        if min_duration:
            params.append(("minDuration", min_duration))
        data = _data(await self._client.get_json(Backend.JAEGER, path, params), path)
        # Tens of milliseconds for a page of big traces: in the analysis's lane, off the event loop.
        return await self._client.lane.run(_new_traces, data, set() if skip is None else skip, path)

    @property
    def lane(self) -> CpuLane:
        """Where the analysis reading through this client runs its CPU-bound stretches."""
        return self._client.lane

    async def trace(self, trace_id: str) -> Trace:
        """One full trace by id."""
        path = f"/api/traces/{trace_id}"
        data = _data(await self._client.get_json(Backend.JAEGER, path), path)
        if not data:
            raise BackendUnavailable(Backend.JAEGER, f"{path}: trace not found")
        try:
            return parse_trace(data[0])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise BackendUnavailable(Backend.JAEGER, f"{path} answered a malformed trace") from None


def _new_traces(data: Any, seen: set[str], path: str) -> list[Trace]:
    """The traces of a search answer whose ids are not in `seen`, decoded; their ids added to it."""
    traces: list[Trace] = []
    try:
        for raw in data or []:
            if str(raw["traceID"]) not in seen:
                seen.add(str(raw["traceID"]))
                traces.append(parse_trace(raw))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackendUnavailable(Backend.JAEGER, f"{path} answered malformed traces") from None
    return traces
