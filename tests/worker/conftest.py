"""Fixtures of the rca-worker's tests: the planted payment incident behind loopback backends, the
worker app running in the test's loop, and helpers to ask questions and read what was answered.

The incident (a code fault in payment) and its fakes come from tests/worker/incident.py.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from faststream.asgi import AsgiFastStream

from aegis.devkit.fakes.llm import ScriptedLlm
from aegis.rca_worker.service.app import make_app
from aegis.rca_worker.settings import WorkerSettings
from aegis.simulator.fakes.http import LoopbackServer
from aegis.simulator.fakes.prometheus import FakePrometheus
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends
from tests.worker.incident import (  # noqa: F401 - fixtures
    incident,
    jaeger_fake,
    loki_fake,
    prometheus_fake,
    real_prometheus,
)


@pytest.fixture(scope="session")
def prometheus_loopback(incident: ScenarioTelemetry) -> Iterator[LoopbackServer]:  # noqa: F811
    """The fake Prometheus serving the incident, shared by the session (never made to misbehave)."""
    with LoopbackServer(FakePrometheus(incident).handle) as server:
        yield server


@pytest.fixture
def backends(
    prometheus_loopback: LoopbackServer,
    loki_fake: LoopbackServer,  # noqa: F811
    jaeger_fake: LoopbackServer,  # noqa: F811
) -> Iterator[Backends]:
    """The three loopback backends; any latency a test sets is reset afterwards."""
    found = Backends(prometheus_loopback, loki_fake, jaeger_fake)
    yield found
    found.reset()


def worker_settings(nats_url: str, backends: Backends, **overrides: Any) -> WorkerSettings:
    """Settings for a worker on `nats_url` reading `backends`, with short timings for tests."""
    values: dict[str, Any] = {
        "nats_url": nats_url,
        **backends.urls(),
        "baseline_lookback_s": 0.0,
        "http_port": 0,
        "rca_ack_wait_s": 5.0,
        "rca_backoff_s": "0.1",
        "rca_shutdown_grace_s": 2.0,
        "locale": "en",
        **overrides,
    }
    return WorkerSettings(**values)


@asynccontextmanager
async def running(app: AsgiFastStream) -> AsyncIterator[AsgiFastStream]:
    """The app started in this event loop (broker, consumer, hooks), stopped at the end.

    It runs in a task of its own: anyio's cancel scopes must be left by the task that entered them,
    and pytest-asyncio sets fixtures up and tears them down in different tasks.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.start_lifespan_context():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        task.result()  # raises what stopped the app from starting
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)


@pytest.fixture
async def worker(nats_url: str, backends: Backends, nats_client: Any) -> AsyncIterator[AsgiFastStream]:
    """One in-process worker with the default test settings."""
    async with running(make_app(worker_settings(nats_url, backends))) as app:
        yield app


@pytest.fixture
def llm() -> Iterator[ScriptedLlm]:
    """The scripted model server (Ollama and OpenAI-compatible APIs)."""
    with ScriptedLlm() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for the tests' own requests."""
    async with httpx.AsyncClient() as client:
        yield client
