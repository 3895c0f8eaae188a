"""A service app run in the test's event loop and reached through httpx's ASGI transport."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp


@asynccontextmanager
async def in_process(
    api: FastAPI, base_url: str, *, served: ASGIApp | None = None, wait_ready: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """`api`'s lifespan running; requests go to `served` (default `api`), `/readyz` awaited first."""
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=served or api)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            if wait_ready:
                await until_status(client, "/readyz", 200)
            yield client


async def until_status(
    client: httpx.AsyncClient, path: str, status: int, timeout: float = 15.0
) -> httpx.Response:
    """GET `path` until it answers `status`; fail after `timeout` seconds with the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(path)
        if response.status_code == status:
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"GET {path} still {response.status_code} {response.text} after {timeout}s")
        await asyncio.sleep(0.05)
