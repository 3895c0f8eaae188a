"""Wiring the notifier: settings → NATS, streams, buckets, sink, pacer → the delivery loops.

One factory used by `__main__`, the tests, the benchmarks and the demo, so they all run the
same service.
"""

import asyncio
import contextlib
import sys

import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from aegis.notifier import metrics
from aegis.notifier.alert_delivery import AlertDelivery, DeliveryPolicy
from aegis.notifier.at_all import MentionFallback
from aegis.notifier.cards import CardOptions
from aegis.notifier.claims import CardKeeper
from aegis.notifier.memory import IncidentMemory
from aegis.notifier.mentions import FeishuContacts, MentionResolver
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.question_replies import QuestionReplies
from aegis.notifier.reply_cards import LinkOptions
from aegis.notifier.routing import MentionSpec, Router, load_routes
from aegis.notifier.settings import NotifierSettings
from aegis.notifier.sinks import CardSink, ConsoleSink, FeishuSink
from aegis.notifier.timeline import IncidentTrail
from aegis.shared.health import Heartbeats
from aegis.shared.nats import connect_nats
from aegis.shared.serving import Health
from aegis.shared.streams import (
    CLAIMS_BUCKET,
    DLQ_STREAM,
    INCIDENTS_BUCKET,
    MESSAGES_BUCKET,
    Topology,
    ensure_bucket,
    ensure_streams,
    fill_ratio,
    stream_configs,
)

log = structlog.get_logger("aegis.notifier")
CONSOLE_CHAT = "console"


def make_sink(settings: NotifierSettings) -> CardSink:
    """Feishu when configured, else the console."""
    if settings.uses_feishu and settings.feishu_app_id and settings.feishu_app_secret:
        return FeishuSink(
            settings.feishu_app_id,
            settings.feishu_app_secret.get_secret_value(),
            settings.feishu_base_url,
            settings.feishu_send_timeout_s,
        )
    return ConsoleSink(sys.stdout)


async def watch_dead_letters(js: JetStreamContext, stopped: asyncio.Event, every_s: float = 15.0) -> None:
    """Keep `aegis_dlq_messages` and `aegis_stream_fill_ratio` current: dead letters need a human,
    and a stream that fills refuses new events, so both are exported before that happens."""
    while not stopped.is_set():
        for config in stream_configs(Topology()):
            name = config.name or ""
            try:
                info = await js.stream_info(name)
            except (NatsError, OSError) as error:
                log.debug("cannot read a stream", stream=name, error=str(error))
                continue
            if name == DLQ_STREAM:
                metrics.DLQ_DEPTH.set(info.state.messages)
            metrics.STREAM_FILL.labels(name).set(
                fill_ratio(info.state.bytes, info.state.messages, info.config)
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), every_s)


class Notifier:
    """The running service: `await run()` until `stop()`."""

    def __init__(self, settings: NotifierSettings, sink: CardSink | None = None) -> None:
        self.settings = settings
        # Every flow sends through the @all fallback: a group may not let the bot mention everyone.
        self._feishu = sink or make_sink(settings)
        self.sink: CardSink = MentionFallback(self._feishu, settings.locale)
        self._nc: Client | None = None
        self._delivery: AlertDelivery | None = None
        self._replies: QuestionReplies | None = None
        self._stopped = asyncio.Event()
        self.heartbeats = Heartbeats(stale_after_s=max(30.0, settings.notifier_ack_wait_s))

    def health(self) -> Health:
        """Alive while the connection and every consumer loop are; ready when also connected.
        A loop that ended or hangs, or a closed connection, is a failure (a restart helps)."""
        nc = self._nc
        if nc is None:
            return Health(waiting="connecting to NATS")
        if nc.is_closed:
            return Health(failure="the NATS connection is closed")
        if not self.heartbeats.loops():
            return Health(waiting="starting the consumers")
        stale = self.heartbeats.stale()
        if stale:
            return Health(failure=f"consumer loops not running: {', '.join(stale)}")
        if not nc.is_connected:
            return Health(waiting="NATS disconnected, reconnecting")
        return Health()

    async def probe(self) -> Health:
        """`health()` for the skeleton's `/healthz` and `/readyz`."""
        return self.health()

    async def run_until(self, stopping: asyncio.Event) -> None:
        """`run()` until `stopping` is set (the skeleton's SIGTERM/SIGINT), then drain and close."""

        async def stop_when_told() -> None:
            await stopping.wait()
            self.stop()

        stopper = asyncio.create_task(stop_when_told())
        try:
            await self.run()
        finally:
            stopper.cancel()

    async def run(self) -> None:
        settings = self.settings
        self._nc = await connect_nats(settings, "aegis-notifier")
        try:
            js = self._nc.jetstream()
            topology = Topology(
                settings.aegis_stream_replicas, settings.alert_dedup_window_s, settings.incident_memory_days
            )
            await ensure_streams(js, topology)
            cards = await ensure_bucket(js, MESSAGES_BUCKET, topology)
            pacer = ChatPacer(settings.feishu_chat_rate_per_s)
            memory = IncidentMemory(await ensure_bucket(js, INCIDENTS_BUCKET, topology), settings.locale)
            keeper = CardKeeper(cards, await ensure_bucket(js, CLAIMS_BUCKET, topology), settings.locale)
            retry = settings.budget
            self._delivery = AlertDelivery(
                self._nc,
                self.sink,
                pacer,
                cards,
                DeliveryPolicy(
                    chat_id=settings.feishu_default_chat_id or CONSOLE_CHAT,
                    digest_after=settings.digest_after_waiting,
                    digest_max=settings.digest_max_groups,
                    retry=retry,
                ),
                CardOptions(
                    at_all_severities=settings.at_all_severities,
                    locale=settings.locale,
                    silence_base_url=settings.alertmanager_silence_base_url,
                    chat_id=settings.feishu_default_chat_id,
                ),
                alive=self.heartbeats.beat("notifier-alerts"),
                router=Router(
                    load_routes(settings.notifier_routes_file),
                    settings.feishu_default_chat_id or CONSOLE_CHAT,
                    MentionSpec(),
                ),
                mentions=MentionResolver(
                    FeishuContacts(self._feishu.config) if isinstance(self._feishu, FeishuSink) else None,
                    settings.contact_cache_ttl_s,
                ),
                trail=IncidentTrail(keeper, memory, self.sink, pacer, settings.locale),
            )
            self._replies = QuestionReplies(
                self._nc,
                self.sink,
                pacer,
                cards,
                retry,
                LinkOptions(settings.grafana_base_url, settings.jaeger_ui_base_url),
                settings.locale,
                self.heartbeats,
                memory=memory,
                keeper=keeper,
            )
            if self._stopped.is_set():
                return
            watcher = asyncio.create_task(watch_dead_letters(js, self._stopped))
            try:
                await asyncio.gather(self._delivery.run(), self._replies.run())
            finally:
                watcher.cancel()
        finally:
            # Not drain(): a pull subscription's lingering request would hold it for 30 s.
            # Acks are plain publishes, so flushing before closing is what keeps them.
            if self._nc.is_connected:
                await self._nc.flush(timeout=2)
            await self._nc.close()

    def stop(self) -> None:
        self._stopped.set()
        for flow in (self._delivery, self._replies):
            if flow is not None:
                flow.stop()
