"""The hand-off off lark's loop: what it takes is published eventually; what it cannot hold it refuses."""

import asyncio
import threading

import pytest

from aegis.gateway_feishu import handoff
from aegis.gateway_feishu.handoff import PublishHandoff
from aegis.gateway_feishu.publishing import PublishFailed


def from_lark_thread(target: object) -> None:
    """Run `target` in another thread, as lark-oapi's handler runs, and wait for it."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    if errors:
        raise errors[0]


async def test_a_failing_publish_is_retried_until_it_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two failed attempts, then success: published once, nothing left outstanding."""
    monkeypatch.setattr(handoff, "RETRY_DELAYS_S", (0.01,))
    outcomes = iter([PublishFailed("timeout"), PublishFailed("timeout"), None])
    taken: list[float] = []

    async def attempt(timeout_s: float) -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        taken.append(timeout_s)

    relay = PublishHandoff(asyncio.get_running_loop(), connected=lambda: True)
    from_lark_thread(lambda: relay.submit("ev1", attempt))
    await relay.drain(2.0)
    assert taken == [handoff.ATTEMPT_TIMEOUT_S]
    assert relay.outstanding == 0


async def test_refuses_while_disconnected_or_full_and_drops_in_flight_copies() -> None:
    """Disconnected or at the limit: PublishFailed (lark answers 500); a re-delivery in flight is a no-op."""
    release = asyncio.Event()

    async def slow(_timeout_s: float) -> None:
        await release.wait()

    down = PublishHandoff(asyncio.get_running_loop(), connected=lambda: False)
    with pytest.raises(PublishFailed, match="not connected"):
        down.submit("ev1", slow)
    relay = PublishHandoff(asyncio.get_running_loop(), connected=lambda: True, limit=1)
    assert relay.submit("ev1", slow) is True
    assert relay.submit("ev1", slow) is False
    with pytest.raises(PublishFailed, match="already wait"):
        relay.submit("ev2", slow)
    release.set()
    await relay.drain(2.0)
    assert relay.outstanding == 0
