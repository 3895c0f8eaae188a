"""Running the real notifier in the test's event loop against a NATS URL and the fake Feishu."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from nats.aio.client import Client

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.notifier.service import Notifier
from aegis.notifier.settings import NotifierSettings
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.subjects import alert_subject

CHAT = "oc_oncall"

RunNotifier = Callable[..., contextlib.AbstractAsyncContextManager[Notifier]]


def notifier_settings(nats_url: str, feishu: FakeFeishu, **overrides: Any) -> NotifierSettings:
    """Settings that send to `feishu`'s chat `CHAT` with short retry delays."""
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "notifier_sink": "feishu",
        "feishu_app_id": feishu.app_id,
        "feishu_app_secret": feishu.app_secret,
        "feishu_base_url": feishu.base_url,
        "feishu_default_chat_id": CHAT,
        "notifier_backoff_s": "0.2,0.5,1",
        "http_port": 0,
        **overrides,
    }
    return NotifierSettings(**values)


@contextlib.asynccontextmanager
async def running_notifier(settings: NotifierSettings) -> AsyncIterator[Notifier]:
    """The notifier runs until the block ends, then stops cleanly."""
    notifier = Notifier(settings)
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier
    finally:
        notifier.stop()
        await asyncio.wait_for(task, timeout=15)


async def publish(client: Client, event: AlertGroupEvent, msg_id: bool = True) -> None:
    """Publish like alert-ingest does (with `Nats-Msg-Id` unless told not to)."""
    headers = {"Nats-Msg-Id": event.event_id} if msg_id else None
    await client.jetstream().publish(
        alert_subject(event.status), event.model_dump_json().encode(), headers=headers
    )
