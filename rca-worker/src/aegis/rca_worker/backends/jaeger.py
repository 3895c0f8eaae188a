"""Jaeger's query HTTP API (the one its UI uses), read-only: services, trace search, traces, dependencies."""

import json
from dataclasses import dataclass, field
from typing import Any

from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient


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
    if not isinstance(payload, dict) or "data" not in payload or payload.get("errors"):
        raise BackendUnavailable(Backend.JAEGER, f"unexpected answer on {path}: {str(payload)[:120]}")
    return payload["data"]


def _is_error(tags: dict[str, str]) -> bool:
    return tags.get("error") == "true" or tags.get("otel.status_code") == "ERROR"


def parse_trace(raw: Any) -> Trace:
    """Decode one trace of Jaeger's JSON model (spans, references, processes)."""
    processes = {pid: str(p.get("serviceName", "")) for pid, p in raw.get("processes", {}).items()}
    spans: list[Span] = []
    for item in raw["spans"]:
        tags = {
            str(t["key"]): str(t.get("value")).lower()
            if isinstance(t.get("value"), bool)
            else str(t.get("value"))
            for t in item.get("tags", [])
        }
        parent = next(
            (str(r["spanID"]) for r in item.get("references", []) or [] if r.get("refType") == "CHILD_OF"),
            None,
        )
        spans.append(
            Span(
                trace_id=str(item["traceID"]),
                span_id=str(item["spanID"]),
                parent_id=parent,
                service=processes.get(item.get("processID", ""), ""),
                operation=str(item.get("operationName", "")),
                start_us=int(item["startTime"]),
                duration_us=int(item["duration"]),
                error=_is_error(tags),
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
        seen = set() if skip is None else skip
        traces: list[Trace] = []
        try:
            for raw in data or []:
                if str(raw["traceID"]) not in seen:
                    seen.add(str(raw["traceID"]))
                    traces.append(parse_trace(raw))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BackendUnavailable(Backend.JAEGER, f"{path} answered malformed traces") from None
        return traces

    async def trace(self, trace_id: str) -> Trace:
        """One full trace by id."""
        path = f"/api/traces/{trace_id}"
        data = _data(await self._client.get_json(Backend.JAEGER, path), path)
        try:
            return parse_trace(data[0])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise BackendUnavailable(Backend.JAEGER, f"{path} answered a malformed trace") from None
