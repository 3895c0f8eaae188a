"""The running gateway: NATS, the dedupe bucket, the bot's identity, then the long connection.

Start-up runs in the background so `/healthz` answers at once and `/readyz` says what is still
missing (NATS down at start-up is waited for, not fatal). In http mode there is no long
connection: the callback route hands events to the same `EventIntake`.
"""

import asyncio
from typing import TYPE_CHECKING

import structlog
from nats.aio.client import Client

from aegis.gateway_feishu.bot_identity import BotIdentityError, fetch_bot_open_id
from aegis.gateway_feishu.claim_clicks import ClaimDesk
from aegis.gateway_feishu.click_guard import ClickGuard
from aegis.gateway_feishu.intake import EventIntake
from aegis.gateway_feishu.message_questions import ChatPolicy
from aegis.gateway_feishu.metrics import GatewayMetrics
from aegis.gateway_feishu.publishing import QuestionPublisher
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.shared.nats import connect_nats
from aegis.shared.publishing import StreamPublisher
from aegis.shared.retrying import backoff, retrying
from aegis.shared.serving import Health
from aegis.shared.streams import (
    CLAIMS_BUCKET,
    FEISHU_EVENTS_BUCKET,
    MESSAGES_BUCKET,
    Topology,
    ensure_bucket,
    ensure_streams,
)

if TYPE_CHECKING:
    from aegis.gateway_feishu.long_connection import LongConnection

log = structlog.get_logger("aegis.gateway_feishu")


class Gateway:
    """`await start()` returns at once; `intake` is set when events can be taken."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.intake: EventIntake | None = None
        self.long_connection: LongConnection | None = None
        self._nc: Client | None = None
        self._starting: asyncio.Task[None] | None = None
        self._step = "starting"
        self._failure: str | None = None

    async def start(self) -> None:
        self._starting = asyncio.create_task(self._start_up(), name="gateway-start-up")

    async def stop(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
        if self.long_connection is not None:
            # In a thread: closing waits for lark's loop to end; acknowledged events publish first.
            await asyncio.to_thread(self.long_connection.stop)
            await self.long_connection.drain()
        if self._nc is not None:
            if self._nc.is_connected:
                await self._nc.flush(timeout=2)
            await self._nc.close()
        log.info("gateway stopped")

    async def health(self) -> Health:
        """What `/healthz` and `/readyz` report."""
        return Health(failure=self.failure, waiting=self.not_ready_reason())

    def not_ready_reason(self) -> str | None:
        """None when events are being taken, else what is missing."""
        if self.failure is not None:
            return self.failure
        if self.intake is None:
            return self._step
        if not self.intake.publisher.connected:
            return "NATS is not connected"
        if self.long_connection is not None and not self.long_connection.connected:
            return "the Feishu long connection is not established"
        return None

    @property
    def failure(self) -> str | None:
        """Set when the gateway cannot recover by itself (a restart or new settings are needed)."""
        if self._failure is None and self.long_connection is not None:
            return self.long_connection.failure
        return self._failure

    async def _start_up(self) -> None:
        settings = self.settings
        try:
            self._step = "connecting to NATS"
            self._nc = await connect_nats(settings, "aegis-gateway-feishu")
            js = self._nc.jetstream(timeout=settings.gateway_publish_timeout_s)
            topology = Topology(settings.aegis_stream_replicas, settings.alert_dedup_window_s)
            await ensure_streams(js, topology)
            seen, claimed, cards = await asyncio.gather(
                *(
                    ensure_bucket(js, b, topology)
                    for b in (FEISHU_EVENTS_BUCKET, CLAIMS_BUCKET, MESSAGES_BUCKET)
                )
            )
            self._step = "learning the bot's open_id from Feishu"
            bot_open_id = settings.feishu_bot_open_id or await self._learn_bot_open_id()
            policy = ChatPolicy(bot_open_id, settings.allowed_chat_ids, settings.known_services)
            stream = StreamPublisher(self._nc, settings.gateway_publish_timeout_s)
            await stream.start()
            publisher = QuestionPublisher(stream, seen, settings.gateway_publish_timeout_s)
            claims = ClaimDesk(claimed, cards, settings.locale)
            self.intake = EventIntake(
                policy, settings.locale, publisher, self.metrics, ClickGuard(seen), claims
            )
            if settings.feishu_event_mode == "ws":
                self._start_long_connection(self.intake)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - reported by /healthz and /readyz, and logged
            self._failure = f"start-up failed: {type(error).__name__}: {error}"
            log.error("gateway start-up failed", error=self._failure)
            return
        log.info(
            "gateway started",
            mode=settings.feishu_event_mode,
            bot_open_id=bot_open_id,
            allowed_chats=sorted(settings.allowed_chat_ids) if settings.allowed_chat_ids else "all",
        )

    def _start_long_connection(self, intake: EventIntake) -> None:
        # Imported here: http mode never loads lark-oapi's long-connection client.
        from aegis.gateway_feishu.long_connection import LongConnection

        settings = self.settings
        app_id, app_secret = _app_credentials(settings)
        connection = LongConnection(
            app_id,
            app_secret,
            settings.feishu_base_url,
            intake,
            settings.gateway_publish_timeout_s,
        )
        self.metrics.connected.set_function(lambda: float(connection.connected))
        connection.start()
        self.long_connection = connection

    async def _learn_bot_open_id(self) -> str:
        app_id, app_secret = _app_credentials(self.settings)
        waiting = retrying("bot open_id not known yet", backoff(0.5, 30.0), retry_on=BotIdentityError)
        return await waiting(fetch_bot_open_id, app_id, app_secret, self.settings.feishu_base_url)


def _app_credentials(settings: GatewaySettings) -> tuple[str, str]:
    if not (settings.feishu_app_id and settings.feishu_app_secret):
        raise ValueError(
            "FEISHU_APP_ID and FEISHU_APP_SECRET are required here"
        )  # the settings check it first
    return settings.feishu_app_id, settings.feishu_app_secret.get_secret_value()
