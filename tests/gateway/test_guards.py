"""Guards at the gateway's door: nesting scan, token-mode freshness, event types, the click guard."""

import json
import time

import pytest
from nats.aio.client import Client

from aegis.devkit.fakes.feishu_events import message_event
from aegis.gateway_feishu.callback_auth import (
    MAX_EVENT_AGE_S,
    CallbackRejected,
    check_freshness,
    nests_deeper,
)
from aegis.gateway_feishu.click_guard import ClickGuard
from aegis.gateway_feishu.long_connection import event_type_of
from aegis.shared.streams import FEISHU_EVENTS_BUCKET, Topology, ensure_bucket


@pytest.mark.parametrize(
    ("raw", "limit", "deeper"),
    [
        (b"[[[]]]", 2, True),
        (b"[[]]", 2, False),
        (b'{"a": "[[[[[[", "b": {"c": 1}}', 2, False),
        (b'{"a": "\\"[[[[[[\\\\", "b": [[1]]}', 3, False),
        (b'{"a": "\\\\"}', 1, False),
        (b"[" * 100_000, 64, True),
    ],
)
def test_nesting_is_measured_outside_strings_without_parsing(raw: bytes, limit: int, deeper: bool) -> None:
    """Brackets inside strings (escaped quotes included) do not count; real nesting does."""
    assert nests_deeper(raw, limit) is deeper


def test_freshness_in_token_mode() -> None:
    """An event is accepted for Feishu's whole re-delivery schedule, not after; a stale request is not."""
    now = time.time()
    event = message_event(create_time_ms=int((now - 6 * 3600) * 1000))
    check_freshness(event, {}, now)
    replay = message_event(create_time_ms=int((now - MAX_EVENT_AGE_S - 60) * 1000))
    with pytest.raises(CallbackRejected, match="re-delivery schedule"):
        check_freshness(replay, {}, now)
    with pytest.raises(CallbackRejected, match="old"):
        check_freshness(message_event(), {"x-lark-request-timestamp": str(now - 600)}, now)
    undated = message_event()
    del undated["header"]["create_time"]
    with pytest.raises(CallbackRejected, match="create_time"):
        check_freshness(undated, {}, now)


def test_event_type_of_both_schemas() -> None:
    """Schema 2.0 names the type in the header, 1.0 in the event; anything else has none."""
    assert event_type_of(json.dumps(message_event()).encode()) == "im.message.receive_v1"
    assert event_type_of(b'{"uuid": "u", "event": {"type": "message"}}') == "message"
    assert event_type_of(b"not json") is None


async def test_click_guard_holds_one_claim_per_window_and_gives_it_back(nats_client: Client) -> None:
    """Against the real KV bucket: one claim per key within the window, a new one after, or once released."""
    bucket = await ensure_bucket(nats_client.jetstream(), FEISHU_EVENTS_BUCKET, Topology())
    guard = ClickGuard(bucket, window_s=600)
    assert await guard.claim("click-a", now=1000.0)
    assert not await guard.claim("click-a", now=1300.0)
    assert await guard.claim("click-b", now=1300.0)
    assert await guard.claim("click-a", now=1601.0)
    await guard.release("click-b")
    assert await guard.claim("click-b", now=1302.0)
