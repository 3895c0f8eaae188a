"""Feishu questions go first in a replica: API and CLI analyses wait while a Feishu one runs."""

import asyncio

from aegis.rca_worker.service.questions import FeishuFirst


async def test_an_api_analysis_waits_for_the_running_feishu_one_and_then_goes() -> None:
    """While a Feishu turn is held, an API turn (and an API step) waits; released, both go on."""
    priority = FeishuFirst()
    order: list[str] = []

    async def api() -> None:
        async with priority.turn("api"):
            order.append("api started")
        await priority.clear()
        order.append("api next step")

    async with priority.turn("feishu"):
        waiting = asyncio.create_task(api())
        await asyncio.sleep(0.05)
        assert order == [], "the API analysis must not start while Feishu runs"
        async with priority.turn("feishu"):  # a second Feishu question does not wait
            order.append("feishu 2")
    await asyncio.wait_for(waiting, 1)
    assert order == ["feishu 2", "api started", "api next step"]
