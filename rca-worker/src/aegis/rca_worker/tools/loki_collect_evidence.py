"""`loki_collect_evidence`: error-ish log lines per service, read in bounded pages, as templates.

Error-ish is `LOKI_LINE_FILTER` (`aegis.rca_worker.failure_words`): a failure word or a warning.

The stream selector comes from `LOKI_SELECTOR_TEMPLATE` and `LOKI_SERVICE_LABEL_KEY`, so estates
that label streams `app`, `service_name` or `container` all work. Raw lines never leave this module:
they are clustered into templates with counts over time, first/last seen and one sample each.

The incident is read first: one `count_over_time` metric query per service finds whether and when
it logged error-ish lines at all (a quiet service costs one request and no line budget), then its
lines are read newest first, so a chatty window before the fault cannot spend the budget. Service
names are checked against the values Loki reports and escaped, so no name can become LogQL.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aegis.rca_worker.backends.loki import LokiClient, logql_string
from aegis.rca_worker.backends.readonly import BackendUnavailable
from aegis.rca_worker.evidence import EvidenceGap, LogTemplate
from aegis.rca_worker.failure_words import LOKI_LINE_FILTER
from aegis.rca_worker.log_templates import TemplateCounter
from aegis.rca_worker.settings import DEFAULT_LOKI_SELECTOR_TEMPLATE
from aegis.rca_worker.tools.promql_templates import regex_alternatives


@dataclass
class LokiEvidence:
    """Templates of the lines read, services Loki knows, services whose reading was cut short, and gaps."""

    templates: list[LogTemplate] = field(default_factory=list)
    services_known: set[str] = field(default_factory=set)
    truncated: list[str] = field(default_factory=list)
    gaps: list[EvidenceGap] = field(default_factory=list)
    lines_read: int = 0
    requests: int = 0


def selector_for(service: str, selector_template: str, label_key: str) -> str:
    """The LogQL stream selector of one service, e.g. `{app="payment"}`, the name escaped."""
    return selector_template.format(label_key=label_key, service=logql_string(service)[1:-1])


def _count_step(start_ns: int, end_ns: int, bucket_s: float) -> int:
    return int(max(bucket_s, (end_ns - start_ns) / 1e9 / 1000))


async def services_logging(
    client: LokiClient, scope: Sequence[str], label_key: str, start_ns: int, end_ns: int, bucket_s: float
) -> set[str]:
    """Which of `scope` logged error-ish lines in the window: one `count_over_time` for them all."""
    step = _count_step(start_ns, end_ns, bucket_s)
    selector = f"{{{label_key}=~{logql_string(regex_alternatives(scope))}}}"
    counted = f"count_over_time({selector} {LOKI_LINE_FILTER} [{step}s])"
    rows = await client.metric_range(f"sum by ({label_key}) ({counted})", start_ns, end_ns, step)
    return {
        str(row.get("metric", {}).get(label_key, ""))
        for row in rows
        if any(float(v) > 0 for _, v in row.get("values", []))
    }


async def _read_service(
    client: LokiClient,
    query: str,
    start_ns: int,
    end_ns: int,
    page_limit: int,
    max_pages: int,
    bucket_s: float,
    counted: bool,
) -> tuple[list[tuple[int, str]], bool, int]:
    """(lines, truncated, requests): none read when a count query says there are none."""
    requests = 0
    if not counted:
        step = _count_step(start_ns, end_ns, bucket_s)
        rows = await client.metric_range(f"sum(count_over_time({query} [{step}s]))", start_ns, end_ns, step)
        requests = 1
        if not any(float(v) > 0 for row in rows for _, v in row.get("values", [])):
            return [], False, requests
    pages = await client.read_pages(query, start_ns, end_ns, page_limit, max_pages)
    return [(line.time_ns, line.line) for line in pages.lines], pages.truncated, requests + pages.requests


async def loki_collect_evidence(
    client: LokiClient,
    services: Sequence[str] | None,
    start: float,
    end: float,
    *,
    label_key: str = "app",
    selector_template: str = DEFAULT_LOKI_SELECTOR_TEMPLATE,
    page_limit: int = 500,
    max_pages: int = 4,
    bucket_s: float = 60.0,
) -> LokiEvidence:
    """Error-ish line templates per service in [start, end] (all services Loki labels when None)."""
    evidence = LokiEvidence()
    start_ns, end_ns = int(start * 1e9), int(end * 1e9)
    try:
        evidence.services_known = set(await client.label_values(label_key, start_ns, end_ns))
    except BackendUnavailable as error:
        if services is None:
            evidence.gaps.append(EvidenceGap(source="loki", reason=f"label values failed: {error.reason}"))
            return evidence
    scope = sorted(services) if services is not None else sorted(evidence.services_known)
    if services is not None and evidence.services_known:
        scope = [s for s in scope if s in evidence.services_known]
    queries = {s: f"{selector_for(s, selector_template, label_key)} {LOKI_LINE_FILTER}" for s in scope}
    counted = selector_template == DEFAULT_LOKI_SELECTOR_TEMPLATE and bool(scope)
    if counted:
        try:
            logging = await services_logging(client, scope, label_key, start_ns, end_ns, bucket_s)
        except BackendUnavailable as error:
            evidence.gaps.append(EvidenceGap(source="loki", reason=f"count query failed: {error.reason}"))
            return evidence
        evidence.requests += 1
        scope = [s for s in scope if s in logging]
    outcomes = await asyncio.gather(
        *(
            _read_service(client, queries[s], start_ns, end_ns, page_limit, max_pages, bucket_s, counted)
            for s in scope
        ),
        return_exceptions=True,
    )
    read: list[tuple[str, list[tuple[int, str]]]] = []
    for service, outcome in zip(scope, outcomes, strict=True):
        if isinstance(outcome, BackendUnavailable):
            evidence.gaps.append(EvidenceGap(source="loki", service=service, reason=outcome.reason))
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        lines, truncated, requests = outcome
        evidence.requests += requests
        if truncated:
            evidence.truncated.append(service)
        evidence.lines_read += len(lines)
        read.append((service, lines))
    # Mining thousands of lines is pure CPU: in the analysis's lane, off the event loop.
    evidence.templates = await client.lane.run(mine_templates, read, queries, bucket_s)
    return evidence


def mine_templates(
    read: list[tuple[str, list[tuple[int, str]]]], queries: dict[str, str], bucket_s: float
) -> list[LogTemplate]:
    """The templates of each service's lines (in the order read), with the query that found them."""
    counter = TemplateCounter(bucket_s=bucket_s)
    for service, lines in read:
        for time_ns, text in lines:
            counter.add(service, time_ns / 1e9, text)
    return counter.templates(queries)
