"""The trace tool samples a window slice by slice and, when the store kept traces only around the
incident, samples again across where they are (`_slices`, `_held_span`). Both rest on what a
Jaeger search of a slice answers when the slice holds more traces than `limit`: checked here
against the real VictoriaTraces, not the fake."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from aegis.devkit.harness.real_backends import RealVictoriaTraces, server_binary
from aegis.rca_worker.backends.jaeger import JaegerClient
from tests.worker.incident import readonly

TRACES = 30
EVERY_S = 10


def _trace_id(n: int) -> str:
    """The n-th trace's id: not in time order (17 is prime to 31), so an answer sorted by id is no
    answer sorted by time."""
    return f"{(n * 17) % 31 + 1:032x}"


def spaced_traces(service: str, first_s: float) -> bytes:
    """`TRACES` one-span traces of `service`, the n-th starting `n * EVERY_S` after `first_s`."""
    spans = [
        Span(
            trace_id=bytes.fromhex(_trace_id(n)),
            span_id=(n + 1).to_bytes(8, "big"),
            name="GET /",
            kind=Span.SPAN_KIND_SERVER,
            start_time_unix_nano=int((first_s + n * EVERY_S) * 1e9),
            end_time_unix_nano=int((first_s + n * EVERY_S + 0.05) * 1e9),
        )
        for n in range(TRACES)
    ]
    name = KeyValue(key="service.name", value=AnyValue(string_value=service))
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(resource=Resource(attributes=[name]), scope_spans=[ScopeSpans(spans=spans)])
        ]
    )
    encoded: bytes = request.SerializeToString()
    return encoded


@pytest.fixture(scope="module")
def first_s() -> float:
    """When the first trace starts: the last one ends a minute before now."""
    return float(int(time.time()) - 60 - TRACES * EVERY_S)


@pytest.fixture(scope="module")
def victoria(first_s: float) -> Iterator[str]:
    """VictoriaTraces holding `TRACES` traces of `frontend`, `EVERY_S` apart; its Jaeger API URL."""
    with RealVictoriaTraces(server_binary("AEGIS_VICTORIATRACES_BIN", "VictoriaTraces")) as server:
        server.push(spaced_traces("frontend", first_s))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = httpx.get(f"{server.jaeger_url}/api/services", timeout=5).json()["data"] or []
            if "frontend" in found:
                break
            time.sleep(0.5)
        yield server.jaeger_url


@pytest.fixture
async def jaeger(victoria: str) -> AsyncIterator[JaegerClient]:
    async with httpx.AsyncClient() as http:
        yield JaegerClient(readonly(http, jaeger=victoria))


async def _found(jaeger: JaegerClient, lo_s: float, hi_s: float, limit: int) -> list[str]:
    deadline = time.monotonic() + 30
    while True:
        traces = await jaeger.find_traces("frontend", int(lo_s * 1e6), int(hi_s * 1e6), limit)
        if traces or time.monotonic() > deadline:
            return sorted(t.trace_id for t in traces)
        await asyncio.sleep(0.5)


async def test_a_search_of_a_slice_fuller_than_its_limit_answers_the_newest_traces_of_it(
    jaeger: JaegerClient, first_s: float
) -> None:
    """Traces 5 to 19 start in the slice; with limit 4 the answer is the slice's newest four, 16 to 19:
    nothing from outside the slice, and not its oldest."""
    lo, hi = first_s + 5 * EVERY_S - 1, first_s + 20 * EVERY_S - 1
    assert await _found(jaeger, lo, hi, 4) == sorted(_trace_id(n) for n in range(16, 20))


async def test_a_slice_holding_fewer_traces_than_its_limit_answers_all_of_them(
    jaeger: JaegerClient, first_s: float
) -> None:
    lo, hi = first_s + 2 * EVERY_S - 1, first_s + 5 * EVERY_S - 1
    assert await _found(jaeger, lo, hi, 20) == sorted(_trace_id(n) for n in range(2, 5))
