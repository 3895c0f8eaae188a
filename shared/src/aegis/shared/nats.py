"""Connecting to NATS the same way everywhere: reconnect forever, log every state change, and
authenticate and encrypt as the settings say (user/password, NKey seed or creds file; TLS)."""

import ssl
from typing import Any

import nats
import structlog
from nats.aio.client import Client

from aegis.shared.retrying import backoff, retrying
from aegis.shared.settings import AegisSettings

log = structlog.get_logger("aegis.nats")


def security_options(settings: AegisSettings) -> dict[str, Any]:
    """The `nats.connect` keyword arguments that authenticate and encrypt the connection."""
    options: dict[str, Any] = {}
    if settings.nats_creds_file:
        options["user_credentials"] = settings.nats_creds_file
    elif settings.nats_nkey_seed_file:
        options["nkeys_seed"] = settings.nats_nkey_seed_file
    elif settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password.get_secret_value() if settings.nats_password else None
    context = tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options


def tls_context(settings: AegisSettings) -> ssl.SSLContext | None:
    """The TLS context for NATS when `NATS_TLS_CA_FILE` or a client certificate is set, else None."""
    if not (settings.nats_tls_ca_file or settings.nats_tls_cert_file):
        return None
    context = ssl.create_default_context(cafile=settings.nats_tls_ca_file)
    if settings.nats_tls_cert_file:
        context.load_cert_chain(settings.nats_tls_cert_file, settings.nats_tls_key_file)
    return context


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
    waiting = retrying(
        "nats not reachable yet", backoff(0.2, 5.0), attempts=attempts, client=name, servers=servers
    )
    client: Client = await waiting(
        nats.connect,
        servers=servers,
        name=name,
        **security_options(settings),
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )
    connected.append(client)
    return client
