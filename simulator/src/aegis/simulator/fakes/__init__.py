"""Loopback fakes of Prometheus's, Loki's and Jaeger's HTTP query APIs, serving a scenario's telemetry.

Each fake is a pure `handle(method, path, params) -> FakeResponse` so that it can sit behind a real
HTTP server on 127.0.0.1 (tests, demo, bench) or behind an `httpx.MockTransport` (the benchmark,
which runs hundreds of cases and needs no sockets to exercise the same client code).
"""
