"""Running the gateway in-process against a real nats-server, the fake open platform and the fake
long-connection server (the real lark-oapi client connects to it), and reading what it published."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.feishu_events import BOT_OPEN_ID
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.asgi import in_process
from aegis.gateway_feishu.app import create_app
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.shared.questions import QuestionEvent
from aegis.shared.streams import QUESTIONS_STREAM
from aegis.shared.subjects import question_subject

SUBJECT = question_subject("feishu")
SettingsFactory = Callable[..., GatewaySettings]


def make_settings(nats_url: str, base_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "feishu_app_id": "cli_test",
        "feishu_app_secret": "secret",
        "feishu_base_url": base_url,
        "feishu_bot_open_id": BOT_OPEN_ID,
        "aegis_known_services": "payment,cart,checkout",
        "log_format": "json",
        "gateway_publish_timeout_s": 1.0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
def feishu_ws(feishu: FakeFeishu) -> Iterator[FakeLongConnection]:
    """The fake long-connection server, forwarding the rest of the open platform to `feishu`."""
    with FakeLongConnection(feishu.app_id, feishu.app_secret, upstream=feishu.base_url) as fake:
        yield fake


@pytest.fixture
def ws_settings(nats_url: str, feishu_ws: FakeLongConnection) -> SettingsFactory:
    """Long-connection mode against `feishu_ws`; keyword arguments override fields."""
    return lambda **overrides: make_settings(nats_url, feishu_ws.base_url, **overrides)


@asynccontextmanager
async def running_gateway(
    settings: GatewaySettings, *, wait_ready: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, reached through httpx's in-process ASGI transport."""
    async with in_process(create_app(settings), "http://gateway", wait_ready=wait_ready) as client:
        yield client


@pytest.fixture
async def gateway(ws_settings: SettingsFactory, nats_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A ready gateway in long-connection mode with default settings."""
    async with running_gateway(ws_settings()) as client:
        yield client


async def published_questions(nc: Client) -> list[QuestionEvent]:
    """Every question on `aegis.question.feishu` in the stream, oldest first."""
    js = nc.jetstream()
    try:
        info = await js.stream_info(QUESTIONS_STREAM)
    except NotFoundError:
        return []
    questions = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        try:
            message = await js.get_msg(QUESTIONS_STREAM, seq)
        except NotFoundError:
            continue
        if message.subject == SUBJECT and message.data is not None:
            questions.append(QuestionEvent.model_validate_json(message.data))
    return questions


async def wait_for_questions(nc: Client, count: int, timeout: float = 5.0) -> list[QuestionEvent]:
    deadline = time.monotonic() + timeout
    while True:
        questions = await published_questions(nc)
        if len(questions) >= count:
            return questions
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} question(s) not published within {timeout}s: {questions}")
        await asyncio.sleep(0.05)
