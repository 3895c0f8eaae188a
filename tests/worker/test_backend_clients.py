"""The clients answer the way the real servers speak: retries where a retry helps, 400 as a wrong
query, tenant headers, Prometheus's point limit and scrape interval, Loki's shapes and Jaeger's."""

import time

import httpx
import pytest

from aegis.rca_worker.backends.jaeger import JaegerClient, parse_trace
from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.prometheus import MAX_POINTS, PrometheusClient
from aegis.rca_worker.backends.readonly import (
    Backend,
    BackendEndpoint,
    BackendUnavailable,
    QueryRejected,
    ReadOnlyClient,
    endpoints_from_settings,
)
from aegis.rca_worker.evidence import REQUEST_RATE
from aegis.rca_worker.settings import WorkerSettings
from aegis.rca_worker.tools.loki_collect_evidence import loki_collect_evidence, selector_for
from aegis.rca_worker.tools.prometheus_query_range import prometheus_query_range
from aegis.rca_worker.tools.promql_templates import RED_FAMILIES, Identity, quote_label_name, render
from aegis.simulator.fakes.http import FakeResponse, LoopbackServer, Params
from aegis.simulator.fakes.loki import FakeLoki
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.telemetry import ScenarioTelemetry

MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": []}}


def _client(http: httpx.AsyncClient, backend: Backend, url: str, **kw: object) -> ReadOnlyClient:
    endpoint = BackendEndpoint(url, 2.0, max_backoff_s=2.0, **kw)  # type: ignore[arg-type]
    return ReadOnlyClient(http, {backend: endpoint})


class Flaky:
    """Answers each request with the next of `answers`, then the last one forever; counts requests."""

    def __init__(self, *answers: FakeResponse) -> None:
        self.answers = list(answers)
        self.seen = 0

    def __call__(self, method: str, path: str, params: Params) -> FakeResponse:
        self.seen += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def test_a_429_with_retry_after_is_retried_after_that_long(http: httpx.AsyncClient) -> None:
    """Mimir's 429 `Retry-After: 1` is waited out and the retry's answer is used."""
    flaky = Flaky(
        FakeResponse(429, "too many outstanding requests", {"Retry-After": "1"}), FakeResponse(200, MATRIX)
    )
    with LoopbackServer(flaky) as server:
        began = time.monotonic()
        rows = await PrometheusClient(_client(http, Backend.PROMETHEUS, server.url)).query_range(
            "up", 0, 60, 15
        )
    assert rows == []
    assert flaky.seen == 2
    assert time.monotonic() - began >= 0.95


async def test_5xx_is_retried_and_gives_up_after_the_attempts(http: httpx.AsyncClient) -> None:
    """A gateway's 502 is tried `attempts` times, then unavailable with the status and the text."""
    flaky = Flaky(FakeResponse(502, "upstream connect error"))
    with LoopbackServer(flaky) as server:
        client = _client(http, Backend.PROMETHEUS, server.url, attempts=3)
        with pytest.raises(BackendUnavailable, match=r"HTTP 502.*upstream connect error") as caught:
            await PrometheusClient(client).query_range("up", 0, 60, 15)
    assert flaky.seen == 3
    assert not isinstance(caught.value, QueryRejected)


async def test_a_400_names_the_query_as_wrong_and_is_not_retried(http: httpx.AsyncClient) -> None:
    """Prometheus's bad_data is `QueryRejected` quoting the error and the query, after one request."""
    bad = {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'}
    flaky = Flaky(FakeResponse(400, bad))
    wrong = r"rejected the query as wrong.*bad_data: parse error.*query: up\{\}\}"
    with LoopbackServer(flaky) as server, pytest.raises(QueryRejected, match=wrong):
        await PrometheusClient(_client(http, Backend.PROMETHEUS, server.url)).query_range("up{}}", 0, 60, 15)
    assert flaky.seen == 1


async def test_lokis_text_errors_are_classified(http: httpx.AsyncClient) -> None:
    """Loki's text/plain 400 is a rejected query; its 401 "no org id" names the tenant header."""
    parse_error = Flaky(FakeResponse(400, "parse error at line 1, col 7: syntax error"))
    with LoopbackServer(parse_error) as server, pytest.raises(QueryRejected, match="parse error at line 1"):
        await LokiClient(_client(http, Backend.LOKI, server.url)).query_range("{app=", 0, 10, 10)
    no_tenant = Flaky(FakeResponse(401, "no org id\n"))
    with LoopbackServer(no_tenant) as server, pytest.raises(BackendUnavailable, match=r"tenant.*no org id"):
        await LokiClient(_client(http, Backend.LOKI, server.url)).label_values("app", 0, 10)


def test_extra_headers_per_backend_come_from_the_settings() -> None:
    """Tenant headers of Mimir/Thanos/Jaeger are sent to their backend only, with the retry settings."""
    settings = WorkerSettings(
        prometheus_base_url="http://p",
        jaeger_base_url="http://j",
        prometheus_extra_headers={"X-Scope-OrgID": "team-a", "THANOS-TENANT": "team-a"},
        jaeger_extra_headers={"x-tenant": "team-a"},
        backend_attempts=5,
    )
    endpoints = endpoints_from_settings(settings)
    assert endpoints[Backend.PROMETHEUS].headers == {"X-Scope-OrgID": "team-a", "THANOS-TENANT": "team-a"}
    assert endpoints[Backend.JAEGER].headers == {"x-tenant": "team-a"}
    assert endpoints[Backend.PROMETHEUS].attempts == 5


async def test_a_three_day_window_stays_under_the_point_limit_and_rate_covers_four_scrapes(
    incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """Against the fake that refuses >11,000 points: 3 days answer, with a window ≥ 4 × 15 s scrapes."""
    s = incident.scenario
    with LoopbackServer(FakePrometheus(incident).handle) as server:
        client = PrometheusClient(_client(http, Backend.PROMETHEUS, server.url))
        evidence = await prometheus_query_range(client, ["payment"], s.end - 3 * 86400, s.end, 15.0, "1m")
    assert evidence.gaps == []
    assert evidence.series
    assert (3 * 86400) / evidence.step < MAX_POINTS
    assert evidence.window == f"{max(60, int(evidence.step))}s"
    rated = [m.query for m in evidence.series if "rate(" in m.query]
    assert rated
    assert all(f"[{evidence.window}]" in query for query in rated)


async def test_prometheus_warnings_are_kept_as_gaps(http: httpx.AsyncClient) -> None:
    """A `warnings` annotation next to data keeps the data and says the answer was partial."""
    partial = {**MATRIX, "warnings": ["PromQL info: metric might not be a counter"]}
    with LoopbackServer(Flaky(FakeResponse(200, partial))) as server:
        client = PrometheusClient(_client(http, Backend.PROMETHEUS, server.url))
        assert await client.query_range("rate(x[5m])", 0, 60, 15) == []
    assert client.notes == ["warning: PromQL info: metric might not be a counter"]


async def test_an_empty_loki_label_answer_is_no_values(http: httpx.AsyncClient) -> None:
    """`{"status":"success"}` without `data` (a label with no streams) is an empty list, not a failure."""
    with LoopbackServer(Flaky(FakeResponse(200, {"status": "success"}))) as server:
        assert await LokiClient(_client(http, Backend.LOKI, server.url)).label_values("app", 0, 10) == []


class SameInstant:
    """A Loki holding 1,100 lines of `payment` on one nanosecond, answering like Loki does."""

    def __init__(self, at_ns: int) -> None:
        self.at_ns = at_ns

    def __call__(self, method: str, path: str, params: Params) -> FakeResponse:
        args = dict(params)
        start, end, limit = int(args["start"]), int(args["end"]), int(args["limit"])
        if limit > 5000:
            return FakeResponse(400, "max entries limit per query exceeded, limit > max_entries_limit")
        inside = start <= self.at_ns < end
        values = [[str(self.at_ns), f"line {i}"] for i in range(1100)][:limit] if inside else []
        body = {"resultType": "streams", "result": [{"stream": {"app": "payment"}, "values": values}]}
        return FakeResponse(200, {"status": "success", "data": body if values else {**body, "result": []}})


async def test_paging_reads_every_line_that_shares_a_timestamp(http: httpx.AsyncClient) -> None:
    """1,100 lines on one nanosecond with 500-line pages: all 1,100 read, none twice."""
    at = 1_700_000_000 * 10**9
    with LoopbackServer(SameInstant(at)) as server:
        pages = await LokiClient(_client(http, Backend.LOKI, server.url)).read_pages(
            '{app="payment"}', at - 10**9, at + 10**9, 500, 10
        )
    assert sorted(line.line for line in pages.lines) == sorted(f"line {i}" for i in range(1100))
    assert not pages.truncated


async def test_a_crafted_service_name_stays_one_logql_value(
    incident: ScenarioTelemetry, http: httpx.AsyncClient
) -> None:
    """`payment"} or {x=~".+` selects no stream (it is not a name Loki reports) and leaks no lines."""
    crafted = 'payment"} or {x=~".+'
    assert selector_for(crafted, '{{{label_key}="{service}"}}', "app") == '{app="payment\\"} or {x=~\\".+"}'
    s = incident.scenario
    with LoopbackServer(FakeLoki(incident).handle) as server:
        client = LokiClient(_client(http, Backend.LOKI, server.url))
        evidence = await loki_collect_evidence(client, [crafted], s.start, s.end)
        unchecked = await client.query_range(
            selector_for(crafted, '{{{label_key}="{service}"}}', "app"),
            int(s.start * 1e9),
            int(s.end * 1e9),
            100,
        )
    assert evidence.templates == []
    assert evidence.lines_read == 0
    assert unchecked == []


def _span(span_id: str, tags: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {
        "traceID": "t1",
        "spanID": span_id,
        "operationName": "op",
        "startTime": 1,
        "duration": 2,
        "processID": "p1",
        "tags": tags,
        "references": [],
        **extra,
    }


def test_jaeger_errors_by_every_convention_and_follows_from_parents() -> None:
    """HTTP ≥ 500, gRPC ≠ 0 and exception events fail a span; a 404 does not; FOLLOWS_FROM is a parent."""
    raw = {
        "traceID": "t1",
        "processes": {"p1": {"serviceName": "payment"}},
        "spans": [
            _span("a", [{"key": "http.status_code", "type": "int64", "value": 503}]),
            _span("b", [{"key": "http.response.status_code", "type": "int64", "value": 404}]),
            _span("c", [{"key": "rpc.grpc.status_code", "type": "int64", "value": 14}]),
            _span(
                "d",
                [],
                logs=[
                    {
                        "timestamp": 1,
                        "fields": [
                            {"key": "event", "value": "exception"},
                            {"key": "exception.message", "value": "NPE"},
                        ],
                    }
                ],
            ),
            _span("e", [], references=[{"refType": "FOLLOWS_FROM", "traceID": "t1", "spanID": "a"}]),
        ],
    }
    spans = {s.span_id: s for s in parse_trace(raw).spans}
    assert [spans[i].error for i in "abcde"] == [True, False, True, True, False]
    assert spans["d"].tags["exception.message"] == "NPE"
    assert spans["e"].parent_id == "a"


async def test_jaeger_null_data_is_empty_and_errors_next_to_data_keep_it(http: httpx.AsyncClient) -> None:
    """The in-memory store's `data: null` is no services; a per-trace error beside traces keeps them."""
    with LoopbackServer(Flaky(FakeResponse(200, {"data": None, "errors": None, "total": 0}))) as server:
        assert await JaegerClient(_client(http, Backend.JAEGER, server.url)).services() == []
    trace = {"traceID": "t1", "processes": {"p1": {"serviceName": "payment"}}, "spans": [_span("a", [])]}
    both = {"data": [trace], "errors": [{"code": 404, "msg": "trace not found", "traceID": "t2"}]}
    with LoopbackServer(Flaky(FakeResponse(200, both))) as server:
        found = await JaegerClient(_client(http, Backend.JAEGER, server.url)).find_traces(
            "payment", 0, 10, 20
        )
    assert [t.trace_id for t in found] == ["t1"]


def test_utf8_label_names_are_quoted_and_values_stay_one_string() -> None:
    """Prometheus 3's `service.name` is quoted in selectors and `by`; a value with quotes stays one value."""
    dotted = Identity("service.name", namespace_label="k8s.namespace.name")
    query = render(RED_FAMILIES[-1], REQUEST_RATE, dotted, ['pay"ment'], "2m", "code")
    assert '{"service.name"=~"pay\\"ment"' in query
    assert 'sum by ("service.name", "k8s.namespace.name")' in query
    assert quote_label_name("destination_workload") == "destination_workload"
