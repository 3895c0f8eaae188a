"""`loki_collect_evidence`: error-ish log lines per service, read in bounded pages, as templates.

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
from aegis.rca_worker.log_templates import TemplateCounter

ERROR_FILTER = (
    '|~ "(?i)(error|exception|fail|fatal|panic|timeout|timed out|refused|oom|killed|unavailable|warn)"'
)


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


async def _read_service(
    client: LokiClient,
    query: str,
    start_ns: int,
    end_ns: int,
    page_limit: int,
    max_pages: int,
    bucket_s: float,
) -> tuple[list[tuple[int, str]], bool, int]:
    """(lines, truncated, requests): none read when the count query says there are none."""
    step = max(bucket_s, (end_ns - start_ns) / 1e9 / 1000)
    counted = await client.metric_range(
        f"sum(count_over_time({query} [{int(step)}s]))", start_ns, end_ns, step
    )
    total = sum(float(v) for row in counted for _, v in row.get("values", []))
    if total <= 0:
        return [], False, 1
    pages = await client.read_pages(query, start_ns, end_ns, page_limit, max_pages)
    return [(line.time_ns, line.line) for line in pages.lines], pages.truncated, 1 + pages.requests


async def loki_collect_evidence(
    client: LokiClient,
    services: Sequence[str] | None,
    start: float,
    end: float,
    *,
    label_key: str = "app",
    selector_template: str = '{{{label_key}="{service}"}}',
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
    queries = {s: f"{selector_for(s, selector_template, label_key)} {ERROR_FILTER}" for s in scope}
    outcomes = await asyncio.gather(
        *(
            _read_service(client, queries[s], start_ns, end_ns, page_limit, max_pages, bucket_s)
            for s in scope
        ),
        return_exceptions=True,
    )
    counter = TemplateCounter(bucket_s=bucket_s)
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
        for time_ns, text in lines:
            counter.add(service, time_ns / 1e9, text)
    evidence.templates = counter.templates(queries)
    return evidence
