"""Which services the backends know, so that names in a question can be told from ordinary words.

A question says "payment 5xx 变多了": `payment` is a service because Prometheus, Loki or Jaeger has
seen it, not because it looks like one. The names are read with the same read-only clients the
evidence tools use and kept for a short while per process, so a burst of questions costs one lookup.
"""

import asyncio
import time
from collections.abc import Awaitable

import structlog

from aegis.rca_worker.backends.jaeger import JaegerClient
from aegis.rca_worker.backends.loki import LokiClient
from aegis.rca_worker.backends.prometheus import PrometheusClient
from aegis.rca_worker.backends.readonly import Backend, BackendUnavailable, ReadOnlyClient
from aegis.rca_worker.settings import WorkerSettings
from aegis.rca_worker.tools.prometheus_query_range import discover
from aegis.rca_worker.tools.promql_templates import RED_FAMILIES, SATURATION_FAMILIES

log = structlog.get_logger(__name__)


async def _quietly(job: Awaitable[list[str]]) -> list[str]:
    try:
        return await job
    except BackendUnavailable as error:
        log.info("service discovery skipped a backend", reason=str(error))
        return []


async def _prometheus_services(client: PrometheusClient, start: float, end: float) -> list[str]:
    """Services of every metric family present, named as the family's identity reads them."""
    names = set(await client.label_values("__name__", start, end))
    found = await discover(client, (*RED_FAMILIES, *SATURATION_FAMILIES), names, None, start, end)
    return sorted({service for f in found for service in f.services})


async def discover_services(
    client: ReadOnlyClient, settings: WorkerSettings, start: float, end: float
) -> set[str]:
    """Service names any configured backend has seen in [start, end]; a failing backend adds none."""
    jobs: list[Awaitable[list[str]]] = []
    if client.configured(Backend.JAEGER):
        jobs.append(JaegerClient(client).services())
    if client.configured(Backend.LOKI):
        loki = LokiClient(client)
        jobs.append(loki.label_values(settings.loki_service_label_key, int(start * 1e9), int(end * 1e9)))
    if client.configured(Backend.PROMETHEUS):
        jobs.append(_prometheus_services(PrometheusClient(client), start, end))
    answers = await asyncio.gather(*(_quietly(job) for job in jobs))
    return {name for names in answers for name in names if name}


class ServiceDirectory:
    """Known service names, looked up at most once per `ttl_s` per process.

    No analysis waits for another's look-up: that one may be an API analysis paused while a Feishu
    one runs (`service.questions.FeishuFirst`), and the Feishu one waiting for it would wait for
    itself. While one refresh runs the others use the names from before; with none yet, each
    analysis looks them up itself.
    """

    def __init__(self, ttl_s: float = 60.0) -> None:
        self._ttl_s = ttl_s
        self._names: set[str] = set()
        self._fetched_at = float("-inf")
        self._refreshing = 0

    async def known(
        self, client: ReadOnlyClient, settings: WorkerSettings, start: float, end: float
    ) -> set[str]:
        """The cached names, refreshed from the backends when older than the TTL."""
        fresh = time.monotonic() - self._fetched_at <= self._ttl_s
        if self._names and (fresh or self._refreshing):
            return set(self._names)
        self._refreshing += 1
        try:
            names = await discover_services(client, settings, start, end)
        finally:
            self._refreshing -= 1
        self._names, self._fetched_at = names, time.monotonic()
        return set(names)
