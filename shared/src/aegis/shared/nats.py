"""Connecting to NATS the same way everywhere: reconnect forever, log every state change."""

import asyncio

import nats
import structlog
from nats.aio.client import Client

from aegis.shared.settings import AegisSettings

log = structlog.get_logger("aegis.nats")


async def connect_nats(settings: AegisSettings, name: str, attempts: int | None = None) -> Client:
    """Connect to `NATS_URL`, retrying the first connection too (`attempts=None`: forever).

    nats-py reconnects by itself once connected, but gives up on a server that is down at start-up;
    services must instead wait for it, reporting not-ready meanwhile.
    """

    async def on_error(error: Exception) -> None:
        log.warning("nats error", client=name, error=str(error))

    connected: list[Client] = []

    async def on_disconnect() -> None:
        if connected and connected[0].is_closed:
            return  # our own close(), not an outage
        log.warning("nats disconnected", client=name)

    async def on_reconnect() -> None:
        log.info("nats reconnected", client=name)

    servers = [url.strip() for url in settings.nats_url.split(",") if url.strip()]
    delay, tried = 0.2, 0
    while True:
        tried += 1
        try:
            client = await nats.connect(
                servers=servers,
                name=name,
                user=settings.nats_user,
                password=settings.nats_password.get_secret_value() if settings.nats_password else None,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
                allow_reconnect=True,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
        except Exception as error:
            if attempts is not None and tried >= attempts:
                raise
            log.warning(
                "nats not reachable yet",
                client=name,
                servers=servers,
                error=str(error) or type(error).__name__,
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            connected.append(client)
            return client
