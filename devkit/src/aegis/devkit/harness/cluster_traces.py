"""The cluster incident's traces as OTLP for VictoriaTraces: frontend → checkout → payment, cart, catalog.

After the onset a third of the requests fail in payment, said the ways real instrumentation says
it: payment's span only by `http.response.status_code` 500 and an `exception` event, checkout's by
an ERROR status, frontend's by the old `http.status_code` 502 — so a reader must know all three.
"""

import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from aegis.devkit.harness.cluster_incident import NAMESPACE, ROOT, SERVICES, Timeline


def _attr(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def traces_request(timeline: Timeline, every_s: float = 10.0) -> bytes:
    """Traces through the call graph every `every_s`; after the onset a third fail in payment."""
    rng = random.Random(11)
    spans: dict[str, list[Span]] = {s: [] for s in timeline.services}
    children = {
        caller: [callee for c, callee in timeline.calls if c == caller] for caller in timeline.services
    }
    t = timeline.start
    while t < timeline.end:
        trace_id = rng.randbytes(16)
        failing = t >= timeline.onset and rng.random() < 0.35

        def emit(
            service: str,
            parent: bytes,
            begin: float,
            t: float = t,
            failing: bool = failing,
            trace_id: bytes = trace_id,
        ) -> tuple[float, bool]:
            span_id = rng.randbytes(8)
            cursor, failed_below = begin + 0.002, False
            core = [c for c in children[service] if c in SERVICES]
            extra = [c for c in children[service] if c not in SERVICES]
            for callee in core + rng.sample(extra, min(3, len(extra))):  # a request touches a few
                cursor, failed = emit(callee, span_id, cursor)
                failed_below |= failed
            own = (0.4 if service == ROOT and t >= timeline.onset else 0.01) + rng.random() * 0.005
            end = cursor + own
            failed = (service == ROOT and failing) or failed_below
            attributes = [_attr("http.request.method", "GET"), _attr("http.route", "/api")]
            events = []
            status = Status()
            if failed and service == ROOT:
                attributes.append(_attr("http.response.status_code", 500))
                events.append(
                    Span.Event(
                        time_unix_nano=int((end - 0.001) * 1e9),
                        name="exception",
                        attributes=[
                            _attr("exception.type", "java.lang.NullPointerException"),
                            _attr("exception.message", 'Cannot invoke "Card.token()" because "card" is null'),
                        ],
                    )
                )
            elif failed and service == "checkout":
                attributes.append(_attr("http.response.status_code", 500))
                status = Status(code=Status.STATUS_CODE_ERROR, message="payment failed")
            elif failed:
                attributes.append(_attr("http.status_code", 502))
            else:
                attributes.append(_attr("http.response.status_code", 200))
            spans[service].append(
                Span(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=parent,
                    name=f"GET /{service}",
                    kind=Span.SPAN_KIND_SERVER,
                    start_time_unix_nano=int(begin * 1e9),
                    end_time_unix_nano=int(end * 1e9),
                    attributes=attributes,
                    events=events,
                    status=status,
                )
            )
            return end, failed

        emit("frontend", b"", t + rng.random())
        t += every_s
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=[_attr("service.name", s), _attr("k8s.namespace.name", NAMESPACE)]
                ),
                scope_spans=[ScopeSpans(spans=spans[s])],
            )
            for s in timeline.services
        ]
    )
    encoded: bytes = request.SerializeToString()
    return encoded
