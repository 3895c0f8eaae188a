"""Deployed as processes with OTEL_EXPORTER_OTLP_ENDPOINT set, alert-ingest and the notifier export
their spans over OTLP/HTTP, and the webhook's and the Feishu send's spans share one trace id."""

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.alerts import webhook_payload
from aegis.devkit.harness.services import Peers, service_processes
from aegis.devkit.harness.threaded_server import ServedFake
from aegis.devkit.harness.waiting import wait_for

Span = tuple[str, str, str]  # (service.name, span name, trace id)


class FakeCollector(ServedFake):
    """An OTLP/HTTP trace receiver on loopback that keeps what it was sent."""

    server_name = "fake-otlp"

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[Span] = []
        self._lock = threading.Lock()

    def app(self) -> FastAPI:
        """`POST /v1/traces` with an `ExportTraceServiceRequest`, answered as a collector does."""
        app = FastAPI()

        @app.post("/v1/traces")
        async def traces(request: Request) -> Response:
            export = ExportTraceServiceRequest()
            export.ParseFromString(await request.body())
            with self._lock:
                for resource in export.resource_spans:
                    attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        self.spans += [
                            (attributes["service.name"], s.name, s.trace_id.hex()) for s in scope.spans
                        ]
            return Response(b"", media_type="application/x-protobuf")

        return app

    def traces_of(self, service: str) -> set[str]:
        with self._lock:
            return {trace_id for name, _, trace_id in self.spans if name == service}


@pytest.fixture
def collector() -> Iterator[FakeCollector]:
    with FakeCollector() as fake:
        yield fake


async def test_services_export_one_trace_from_webhook_to_feishu_send(
    nats_url: str, feishu: FakeFeishu, collector: FakeCollector, tmp_path: Path
) -> None:
    nowhere = "http://127.0.0.1:9"  # the rca-worker is not started
    peers = Peers(
        nats_url,
        feishu.base_url,
        feishu.base_url,
        feishu.app_id,
        feishu.app_secret,
        "oc_traced",
        nowhere,
        nowhere,
        nowhere,
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.base_url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    processes = service_processes(tmp_path, peers, env)
    ingest, notifier = processes["alert-ingest"], processes["notifier"]
    try:
        for service in (ingest, notifier):
            service.start()
            service.wait_ready()
        url = f"http://127.0.0.1:{ingest.env['HTTP_PORT']}/alertmanager/webhook"
        async with httpx.AsyncClient() as http:
            assert (await http.post(url, json=webhook_payload(), timeout=10)).status_code == 200

        def joined() -> set[str]:
            return collector.traces_of("aegis-alert-ingest") & collector.traces_of("aegis-notifier")

        await wait_for(joined, timeout=30, what="one trace id in both services' exported spans")
    finally:
        for service in (ingest, notifier):
            service.stop()
    assert feishu.sent("oc_traced"), "the card was sent"
    assert any("exporting spans" in service.log_tail() for service in (ingest, notifier))
