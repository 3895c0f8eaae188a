"""OpenTelemetry across NATS: one trace from the webhook or the @mention to the Feishu send.

Publishers put the W3C `traceparent` into the message headers; consumers continue the trace from
them. Without an SDK configured every call here is a cheap no-op, so the hot paths pay nothing
unless tracing is on. `configure_tracing` turns it on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
the SDK is imported only then.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import structlog
from opentelemetry import context, propagate, trace
from opentelemetry.environment_variables import OTEL_PYTHON_TRACER_PROVIDER
from opentelemetry.trace import Link, Span, SpanKind

log = structlog.get_logger("aegis.tracing")
TRACEPARENT = "traceparent"
_PROVIDER_FROM_ENVIRONMENT = OTEL_PYTHON_TRACER_PROVIDER in os.environ


def configure_tracing(service: str, endpoint: str | None) -> bool:
    """Export `service`'s spans over OTLP/HTTP to the collector at `endpoint` (the setting
    OTEL_EXPORTER_OTLP_ENDPOINT, an origin: `/v1/traces` is appended); True when enabled."""
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("exporting spans", endpoint=endpoint, service=service)
    return True


def tracing_on() -> bool:
    """Whether a tracer provider was installed; hot paths skip span bookkeeping when not.

    `trace.get_tracer_provider()` looks the environment up on every call while none is installed
    (a KeyError raised and caught, several µs, twice per webhook: bench.ingest); the API module's
    global says the same for free, and a provider named in the environment counts from the start.
    """
    return trace._TRACER_PROVIDER is not None or _PROVIDER_FROM_ENVIRONMENT


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def with_trace(headers: dict[str, str]) -> dict[str, str]:
    """`headers` plus the current span's `traceparent` (unchanged when nothing is being traced)."""
    if tracing_on() and trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)
    return headers


def parent_of(headers: Mapping[str, str] | None) -> context.Context | None:
    """The trace context a message carries, if any."""
    if not headers or TRACEPARENT not in headers:
        return None
    return propagate.extract(dict(headers))


@contextmanager
def consuming(
    name: str, headers: Mapping[str, str] | None, links_from: Sequence[Mapping[str, str] | None] = ()
) -> Iterator[Span]:
    """A span continuing the trace of the message with `headers`, linked to others' traces."""
    links = []
    for other in links_from:
        carried = parent_of(other)
        if carried is not None:
            span_context = trace.get_current_span(carried).get_span_context()
            links.append(Link(span_context))
    with trace.get_tracer("aegis").start_as_current_span(
        name, context=parent_of(headers), kind=SpanKind.CONSUMER, links=links
    ) as span:
        yield span
