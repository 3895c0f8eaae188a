"""Clustering log lines into templates, so evidence is "N lines like this since 10:02" and not raw dumps.

Variable parts (ids, numbers, addresses, quoted values, durations) are masked first, then Drain
(drain3, one miner per service and analysis) groups the masked lines into templates, so lines whose
free-text parameters differ (a train type, a user name) still share one. Code faults show as shifts
in these templates' frequencies at every level, not only as ERROR lines, so every line is counted.

A code location a logger prints (`BasicServiceImpl#119`) is the statement, not a parameter: it is kept.
Where a line carries the span it was logged in, it is counted under that span's operation, and the
operation's calls are counted beside it, so a line that stops being printed while its operation is
still called (the code took another path) shows against that operation's own normal.
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
    (re.compile(r"(?<![\w#])[-+]?\d+(?:\.\d+)?(?:ms|us|µs|s|m|h|%|KiB|MiB|GiB|B)?\b"), "<num>"),
)
# `Class#line` (or `file.go:42`) near the start of a line: the statement that printed it.
_LOCATION = re.compile(r"[\w$]+(?:#|\.(?:go|py|java|kt|scala|js|ts|rb|cs|rs|c|cc|cpp):)\d+\b")
LOCATION_WITHIN = 80
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
    cluster_id: int = 0
    buckets: dict[float, int] = field(default_factory=lambda: defaultdict(int))


_Key = tuple[str, str, str | None, int]


def _miner() -> TemplateMiner:
    config = TemplateMinerConfig()
    config.profiling_enabled = False
    return TemplateMiner(config=config)


@dataclass
class TemplateCounter:
    """Accumulates lines per (service, operation, template) with counts per time bucket, and the
    calls of each operation lines were joined to."""

    bucket_s: float = 60.0
    _clusters: dict[_Key, _Cluster] = field(default_factory=dict)
    _miners: dict[tuple[str, str], TemplateMiner] = field(default_factory=dict)
    _calls: dict[tuple[str, str], dict[float, int]] = field(default_factory=dict)

    def add(self, service: str, time_s: float, line: str, operation: str | None = None) -> None:
        """Count one line of `service` seen at `time_s`, logged within a call of `operation` if known."""
        # Lines printed by two statements are two templates, however alike their words, and one
        # statement's lines are one template, however its parameters differ: the statement is the
        # code path. Drain mines each statement apart, for the template's words only.
        located = _LOCATION.search(line, 0, LOCATION_WITHIN)
        location = located.group(0) if located else ""
        miner = self._miners.get((service, location))
        if miner is None:
            miner = self._miners[(service, location)] = _miner()
        mined = miner.add_log_message(template_of(line))
        cluster_id = int(mined["cluster_id"])
        key = (service, location, operation, -1 if location else cluster_id)
        cluster = self._clusters.get(key)
        if cluster is None:
            cluster = self._clusters[key] = _Cluster(sample=line[:MAX_SAMPLE_CHARS])
        cluster.count += 1
        cluster.cluster_id = cluster_id
        cluster.first = min(cluster.first, time_s)
        cluster.last = max(cluster.last, time_s)
        cluster.buckets[time_s - time_s % self.bucket_s] += 1

    def add_call(self, service: str, operation: str, time_s: float) -> None:
        """Count one call (span) of `service`'s `operation` started at `time_s`."""
        calls = self._calls.setdefault((service, operation), defaultdict(int))
        calls[time_s - time_s % self.bucket_s] += 1

    def templates(self, queries: dict[str, str], per_service: int = 60) -> list[LogTemplate]:
        """The most frequent templates of each service, deterministic order (service, -count, template)."""
        by_service: dict[str, list[tuple[str, str, _Cluster]]] = defaultdict(list)
        operations: dict[tuple[str, str], str | None] = {}
        for (service, location, operation, _), cluster in self._clusters.items():
            mined = self._miners[(service, location)].drain.id_to_cluster[cluster.cluster_id]
            template = re.sub(r"\s+", " ", mined.get_template())[:MAX_TEMPLATE_CHARS]
            by_service[service].append((template, operation or "", cluster))
            operations[(service, operation or "")] = operation
        result: list[LogTemplate] = []
        for service in sorted(by_service):
            ranked = sorted(by_service[service], key=lambda item: (-item[2].count, item[0], item[1]))
            for template, op, cluster in ranked[:per_service]:
                operation = operations[(service, op)]
                calls = self._calls.get((service, operation), {}) if operation else {}
                result.append(
                    LogTemplate(
                        service=service,
                        template=template,
                        count=cluster.count,
                        first_seen=cluster.first,
                        last_seen=cluster.last,
                        sample=cluster.sample,
                        query=queries.get(service, ""),
                        buckets=sorted(cluster.buckets.items()),
                        operation=operation if calls else None,
                        calls=sorted(calls.items()),
                    )
                )
        return result
