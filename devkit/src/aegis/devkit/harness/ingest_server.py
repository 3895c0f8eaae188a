"""alert-ingest served by a real uvicorn on a loopback port, inside the test's event loop."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from aegis.alert_ingest.app import create_app
from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.harness.ports import free_port


@asynccontextmanager
async def serving_ingest(settings: IngestSettings) -> AsyncIterator[str]:
    """Run alert-ingest until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
