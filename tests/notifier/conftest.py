"""Running the real notifier against a real nats-server and the fake Feishu."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from nats.aio.client import Client

from aegis.notifier.service import Notifier
from aegis.notifier.settings import NotifierSettings
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.subjects import alert_subject
from tests.fakes.feishu import FakeFeishu

CHAT = "oc_oncall"

RunNotifier = Callable[..., contextlib.AbstractAsyncContextManager[Notifier]]


def notifier_settings(nats_url: str, feishu: FakeFeishu, **overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "notifier_sink": "feishu",
        "feishu_app_id": feishu.app_id,
        "feishu_app_secret": feishu.app_secret,
        "feishu_base_url": feishu.base_url,
        "feishu_default_chat_id": CHAT,
        "notifier_backoff_s": "0.2,0.5,1",
        "notifier_metrics_port": 0,
        **overrides,
    }
    return NotifierSettings(**values)


@pytest.fixture
def run_notifier(nats_url: str, feishu: FakeFeishu) -> RunNotifier:
    """`async with run_notifier(**settings):` runs a notifier until the block ends."""

    @contextlib.asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[Notifier]:
        notifier = Notifier(notifier_settings(overrides.pop("url", nats_url), feishu, **overrides))
        task = asyncio.create_task(notifier.run())
        try:
            yield notifier
        finally:
            notifier.stop()
            await asyncio.wait_for(task, timeout=15)

    return running


async def publish(client: Client, event: AlertGroupEvent, msg_id: bool = True) -> None:
    """Publish like alert-ingest does (with `Nats-Msg-Id` unless told not to)."""
    headers = {"Nats-Msg-Id": event.event_id} if msg_id else None
    await client.jetstream().publish(alert_subject(event.status), event.model_dump_json().encode(), headers=headers)
