"""Clustering log lines into templates, so evidence is "N lines like this since 10:02" and not raw dumps.

Variable parts (ids, numbers, addresses, quoted values, durations) are masked first, then Drain
(drain3, one miner per service and analysis) groups the masked lines into templates, so lines whose
free-text parameters differ (a train type, a user name) still share one. Code faults show as shifts
in these templates' frequencies at every level, not only as ERROR lines, so every line is counted.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from aegis.rca_worker.evidence import LogTemplate

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
        "<uuid>",
    ),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?\b"), "<ts>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\"[^\"]*\"|'[^']*'"), "<str>"),
    (re.compile(r"(?<![A-Za-z])[-+]?\d+(?:\.\d+)?(?:ms|us|µs|s|m|h|%|KiB|MiB|GiB|B)?\b"), "<num>"),
)
MAX_TEMPLATE_CHARS = 240
MAX_SAMPLE_CHARS = 400


# Pure, and most lines repeat verbatim (a Train Ticket case: 4,915 lines, 682 distinct): masking once
# per distinct line is most of reading a case's logs.
@lru_cache(maxsize=32768)
def template_of(line: str) -> str:
    """The line with its variable parts masked, e.g. `timeout after <num> calling payment`."""
    text = line.strip()
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return re.sub(r"\s+", " ", text)[:MAX_TEMPLATE_CHARS]


@dataclass
class _Cluster:
    count: int = 0
    first: float = float("inf")
    last: float = float("-inf")
    sample: str = ""
    buckets: dict[float, int] = field(default_factory=lambda: defaultdict(int))


def _miner() -> TemplateMiner:
    config = TemplateMinerConfig()
    config.profiling_enabled = False
    return TemplateMiner(config=config)


@dataclass
class TemplateCounter:
    """Accumulates lines per (service, template) with counts per time bucket."""

    bucket_s: float = 60.0
    _clusters: dict[tuple[str, int], _Cluster] = field(default_factory=dict)
    _miners: dict[str, TemplateMiner] = field(default_factory=dict)

    def add(self, service: str, time_s: float, line: str) -> None:
        """Count one line of `service` seen at `time_s`."""
        miner = self._miners.get(service)
        if miner is None:
            miner = self._miners[service] = _miner()
        mined = miner.add_log_message(template_of(line))
        key = (service, int(mined["cluster_id"]))
        cluster = self._clusters.get(key)
        if cluster is None:
            cluster = self._clusters[key] = _Cluster(sample=line[:MAX_SAMPLE_CHARS])
        cluster.count += 1
        cluster.first = min(cluster.first, time_s)
        cluster.last = max(cluster.last, time_s)
        cluster.buckets[time_s - time_s % self.bucket_s] += 1

    def templates(self, queries: dict[str, str], per_service: int = 60) -> list[LogTemplate]:
        """The most frequent templates of each service, deterministic order (service, -count, template)."""
        by_service: dict[str, list[tuple[str, _Cluster]]] = defaultdict(list)
        for (service, cluster_id), cluster in self._clusters.items():
            mined = self._miners[service].drain.id_to_cluster[cluster_id]
            template = re.sub(r"\s+", " ", mined.get_template())[:MAX_TEMPLATE_CHARS]
            by_service[service].append((template, cluster))
        result: list[LogTemplate] = []
        for service in sorted(by_service):
            ranked = sorted(by_service[service], key=lambda item: (-item[1].count, item[0]))[:per_service]
            result.extend(
                LogTemplate(
                    service=service,
                    template=template,
                    count=cluster.count,
                    first_seen=cluster.first,
                    last_seen=cluster.last,
                    sample=cluster.sample,
                    query=queries.get(service, ""),
                    buckets=sorted(cluster.buckets.items()),
                )
                for template, cluster in ranked
            )
        return result
