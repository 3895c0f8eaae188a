"""`make_app`: the rca-worker as a FastStream app — used by `__main__`, the tests and the benchmark.

One NATS broker and two durable pull consumers from the shared table (`aegis.shared.consumers`),
each shared by every replica (JetStream hands each question to one of them): `rca-worker-feishu`
for questions asked in Feishu and `rca-worker` for the API and CLI, each with `RCA_CONCURRENCY`
analyses at once per replica, so a crowd of API clients never makes a Feishu question wait;
`max_ack_pending` bounds the work handed out overall. Start-up declares the streams,
the sessions bucket and the consumer (updating its limits when the settings changed), so that
replicas can start in any order.
"""

import asyncio
import logging
from dataclasses import dataclass, field

import httpx
import structlog
from faststream import AckPolicy
from faststream.asgi import AsgiFastStream
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.prometheus import NatsPrometheusMiddleware
from faststream.nats.security import NatsCredentials, NatsNKey, NatsSecurity, NatsUserPassword
from nats.js import JetStreamContext

from aegis.rca_worker.backends.readonly import Backend, ReadOnlyClient, endpoints_from_settings
from aegis.rca_worker.discovery import ServiceDirectory
from aegis.rca_worker.lane import CpuLane
from aegis.rca_worker.llm.availability import check_models
from aegis.rca_worker.llm.providers import ChatModels
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.graph import make_graph
from aegis.rca_worker.service import metrics
from aegis.rca_worker.service.health import Readiness
from aegis.rca_worker.service.progress import ProgressPublisher
from aegis.rca_worker.service.questions import QuestionFlow
from aegis.rca_worker.sessions import SessionMemory
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.consumers import WORKER_API, WORKER_FEISHU, ConsumerSpec, DeliveryBudget
from aegis.shared.nats import tls_context
from aegis.shared.retrying import backoff, retrying
from aegis.shared.serving import REGISTRY, operations_routes
from aegis.shared.streams import SESSIONS_BUCKET, Topology, ensure_bucket, ensure_streams
from aegis.shared.subjects import QuestionSource, cancel_subject, question_subject

log = structlog.get_logger("aegis.rca_worker")
CONSUMERS = (WORKER_FEISHU, WORKER_API)

DURABLE = WORKER_API.durable


def consumer_config(settings: WorkerSettings, spec: ConsumerSpec = WORKER_API) -> ConsumerConfig:
    """`spec`'s consumer with the worker's budget: explicit acks, unlimited on the server (the
    skeleton dead-letters a question whose budget is spent, after answering its asker)."""
    budget = DeliveryBudget(settings.rca_max_deliver, settings.rca_ack_wait_s, settings.backoff)
    return spec.config(budget, settings.rca_max_ack_pending)


async def ensure_consumer(js: JetStreamContext, settings: WorkerSettings) -> None:
    """Create the consumers, or bring existing ones' limits and filters in line with the settings."""
    for spec in CONSUMERS:
        await js.add_consumer(spec.stream, consumer_config(settings, spec))


@dataclass
class Worker:
    """The resources a running worker shares across its analyses."""

    settings: WorkerSettings
    broker: NatsBroker
    readiness: Readiness
    http: httpx.AsyncClient | None = None
    memory: SessionMemory | None = None
    directory: ServiceDirectory = field(default_factory=ServiceDirectory)
    models: ChatModels | None = None
    api_calls: dict[Backend, asyncio.Semaphore] = field(default_factory=dict)
    api_cpu: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        # All API and CLI analyses together: the calls of one analysis (EVIDENCE_CONCURRENCY per
        # backend), so a lone one is as fast as before and a crowd adds no more in front of Feishu.
        share = self.settings.evidence_concurrency
        self.api_calls = {backend: asyncio.Semaphore(share) for backend in Backend}

    def context(self, progress: ProgressPublisher, source: QuestionSource) -> AnalysisContext:
        """The analysis context of one question asked through `source`.

        A Feishu analysis has its own budget of backend calls; API and CLI analyses share one per
        replica and wait while a Feishu one runs, so a crowd of them never stands in front of its
        calls at the backends for more than the calls already under way. Their CPU-bound stretches
        (decoding, digesting, ranking) wait too and run one at a time for them all (`lane`).
        """
        assert self.http is not None, "the worker has not started"
        feishu = source == "feishu"
        client = ReadOnlyClient(
            self.http,
            endpoints_from_settings(self.settings),
            self.settings.evidence_concurrency,
            wait_turn=None if feishu else progress.before_step,
            in_flight=None if feishu else self.api_calls,
            lane=CpuLane() if feishu else CpuLane(progress.before_step, self.api_cpu),
        )
        return AnalysisContext(client, self.settings, progress, self.directory, self.memory, self.models)

    async def start(self) -> None:
        """Connect (waiting for NATS), declare streams, bucket and consumer, open the HTTP client."""
        settings = self.settings
        # NATS not up yet: wait for it, not ready meanwhile.
        await retrying("nats not reachable yet", backoff(0.2, 5.0))(self.broker.connect)
        js = self.broker.connection.jetstream()
        topology = Topology(settings.aegis_stream_replicas, settings.alert_dedup_window_s)
        await ensure_streams(js, topology)
        self.memory = SessionMemory(await ensure_bucket(js, SESSIONS_BUCKET, topology))
        await ensure_consumer(js, settings)
        limits = httpx.Limits(max_connections=settings.rca_concurrency * settings.evidence_concurrency + 8)
        self.http = httpx.AsyncClient(limits=limits)
        self.directory = ServiceDirectory(settings.rca_services_cache_s)
        self.models = ChatModels(settings)
        if settings.default_model != "none":
            self.models.get(settings.default_model)  # load the client now, not on the first question
        for check in await check_models(self.http, settings, self.models):
            metrics.MODEL_AVAILABLE.labels(check.alias).set(0 if check.available is False else 1)
            if warning := check.warning():
                self.readiness.warnings.append(warning)

    async def started(self) -> None:
        """The consumer runs: ready for work."""
        self.readiness.consuming = True
        log.info("rca-worker consuming", durable=DURABLE, concurrency=self.settings.rca_concurrency)

    async def stopping(self) -> None:
        """Not ready any more: let in-flight analyses finish within the grace period."""
        self.readiness.consuming = False

    async def stop(self) -> None:
        """Close the HTTP client after the broker stopped."""
        if self.http is not None:
            await self.http.aclose()


async def _nats_error(error: Exception) -> None:
    log.warning("nats error", error=str(error) or type(error).__name__)


async def _nats_disconnected() -> None:
    log.warning("nats disconnected")


async def _nats_reconnected() -> None:
    log.info("nats reconnected")


def broker_security(settings: WorkerSettings) -> NatsSecurity | None:
    """The same credentials and TLS as `aegis.shared.nats.security_options`, in FastStream's terms."""
    tls = tls_context(settings)
    if settings.nats_creds_file:
        return NatsCredentials(settings.nats_creds_file, ssl_context=tls)
    if settings.nats_nkey_seed_file:
        return NatsNKey(settings.nats_nkey_seed_file, ssl_context=tls)
    if settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        return NatsUserPassword(settings.nats_user, password, ssl_context=tls)
    return NatsSecurity(ssl_context=tls) if tls is not None else None


def make_broker(settings: WorkerSettings) -> NatsBroker:
    """The NATS broker, reconnecting forever, waiting `RCA_SHUTDOWN_GRACE_S` for handlers on stop.

    FastStream's Prometheus middleware counts and times what the broker receives and publishes, in
    the registry of the worker's own metrics, so that one `/metrics` shows both.
    """
    servers = [url.strip() for url in settings.nats_url.split(",") if url.strip()]
    return NatsBroker(
        servers,
        name="aegis-rca-worker",
        security=broker_security(settings),
        error_cb=_nats_error,
        disconnected_cb=_nats_disconnected,
        reconnected_cb=_nats_reconnected,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        graceful_timeout=settings.rca_shutdown_grace_s,
        logger=logging.getLogger("aegis.rca_worker.faststream"),
        log_level=logging.DEBUG,
        middlewares=[NatsPrometheusMiddleware(registry=REGISTRY, app_name="aegis-rca-worker")],
    )


def make_app(settings: WorkerSettings) -> AsgiFastStream:
    """The worker app: consumer, handler, health routes, lifecycle."""
    broker = make_broker(settings)
    worker = Worker(settings, broker, Readiness(broker))
    flow = QuestionFlow(broker, settings, make_graph(), worker.context)
    for spec in CONSUMERS:
        broker.subscriber(
            spec.subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=consumer_config(settings, spec),
            pull_sub=PullSub(batch_size=1, timeout=2.0),
            max_workers=settings.rca_concurrency,
            ack_policy=AckPolicy.MANUAL,
            title=spec.durable,
            description=spec.description,
        )(flow.handle)
    # Cancels of API questions whose streaming client went away (core NATS: every replica hears them).
    broker.subscriber(cancel_subject("*"), title="question-cancels")(flow.cancels.heard)
    # Feishu questions as they are published, before the consumer hands one over (`FeishuFirst`).
    broker.subscriber(question_subject("feishu"), title="feishu-questions-heard")(flow.priority.on_subject)
    return AsgiFastStream(
        broker,
        asgi_routes=[(route.path, route) for route in operations_routes(worker.readiness.health)],
        on_startup=[worker.start],
        after_startup=[worker.started],
        on_shutdown=[worker.stopping],
        after_shutdown=[worker.stop],
    )
