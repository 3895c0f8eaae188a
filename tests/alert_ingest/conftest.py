"""Running alert-ingest in-process against the real nats-server, and reading what it published."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from aegis.alert_ingest.app import create_app
from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.harness.asgi import in_process
from aegis.shared.streams import ALERTS_STREAM
from tests.alert_ingest.payloads import encode, webhook

WEBHOOK = "/alertmanager/webhook"
JSON = {"Content-Type": "application/json"}

SettingsFactory = Callable[..., IngestSettings]


def make_settings(nats_url: str, **overrides: Any) -> IngestSettings:
    """Settings for a test app: the given NATS, JSON logs, short publish timeout."""
    values: dict[str, Any] = {"nats_url": nats_url, "log_format": "json", "nats_publish_timeout_s": 2.0}
    values.update(overrides)
    return IngestSettings(**values)


@pytest.fixture
def ingest_settings(nats_url: str) -> SettingsFactory:
    """Settings for an app on the test's NATS; keyword arguments override fields."""
    return lambda **overrides: make_settings(nats_url, **overrides)


@asynccontextmanager
async def running_app(
    settings: IngestSettings, *, wait_ready: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, reached through httpx's in-process ASGI transport."""
    app = create_app(settings)
    async with in_process(app.api, "http://alert-ingest", served=app, wait_ready=wait_ready) as client:
        yield client


@pytest.fixture
async def ingest(ingest_settings: SettingsFactory, nats_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A ready app with default settings on the test's NATS (streams declared)."""
    async with running_app(ingest_settings()) as client:
        yield client


async def post_webhook(
    client: httpx.AsyncClient, document: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a webhook body (a document to JSON-encode, or bytes as they are)."""
    body = (
        document if isinstance(document, bytes) else encode(document if document is not None else webhook())
    )
    return await client.post(WEBHOOK, content=body, headers=headers if headers is not None else JSON)


async def alert_messages(nc: Client) -> list[RawStreamMsg]:
    """Every message in the alert stream, oldest first."""
    js = nc.jetstream()
    try:
        state = (await js.stream_info(ALERTS_STREAM)).state
    except NotFoundError:
        return []
    if state.messages == 0:
        return []
    return [await js.get_msg(ALERTS_STREAM, seq) for seq in range(state.first_seq, state.last_seq + 1)]
