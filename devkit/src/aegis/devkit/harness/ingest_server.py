"""alert-ingest served by a real uvicorn on a loopback port, with its lifespan, for a test's block."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aegis.alert_ingest.app import create_app
from aegis.alert_ingest.settings import IngestSettings
from aegis.devkit.harness.threaded_server import serving


@asynccontextmanager
async def serving_ingest(settings: IngestSettings) -> AsyncIterator[str]:
    """Run alert-ingest until the block ends; yields its base URL."""
    async with serving(create_app(settings), "alert-ingest") as url:
        yield url
