"""The evidence is the floor: what a model's report may change in the deterministic answer, and how.

A model may only make the answer better. It may reorder candidates within the evidence, but:
- a candidate it puts higher than the ranking did (or adds) must cite evidence of its own service;
- evidence ids stay with the service they were collected for (payment's errors cannot prove `ad`);
- the ranking's first candidate is demoted or dropped only when the report cites evidence against
  it (`counter_evidence`); otherwise the whole report is refused and the answer is the ranking's,
  marked degraded with the reason;
- every service named in the summary and the next actions exists in the evidence; sentences and
  actions naming an invented one are dropped;
- text copied from the prompt's example is refused.
What it changed is said in one line (`contribution`), and disagreement with the ranking is said
there too, so the card never presents a model's reordering as the deterministic answer.
"""

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from aegis.rca_worker.llm.report import InvalidReport, Report, copied_placeholders
from aegis.shared.messages import message
from aegis.shared.questions import ModelAlias
from aegis.shared.rca import Evidence, RcaResult, RootCauseCandidate
from aegis.shared.settings import Locale

MAX_CANDIDATES = 3
_SENTENCE = re.compile(r"(?:[^。！？!?；;\n.]|\.(?=\S))*(?:[。！？!?；;.]+|\n|$)[ \t]*")
_KIND_PREFIX = re.compile(r"^(?:deploy(?:ment)?s?|svc|services?|pods?|sts|statefulsets?|ds|app)/", re.I)
_INFRA = (
    "db|database|svc|service|api|cache|redis|mysql|postgres|pg|mongo|kafka|queue|mq|worker|server|"
    "gateway|proxy|backend|store|sql|es|search"
)
_NAMED = (
    re.compile(r"`([^`\s]{2,80})`"),
    re.compile(r"\b([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)\s*(?:(?:service|svc)\b|服务|组件)", re.I),
    re.compile(r"(?:\bservice\s*[\"'“]|服务\s*[\"'“]?)([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)", re.I),
    re.compile(rf"\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:{_INFRA}))\b", re.I),
)
# Words that stand before "service" in prose without naming one.
_PROSE = {
    "the", "a", "an", "this", "that", "these", "those", "each", "every", "any", "upstream",
    "downstream", "calling", "called", "caller", "callee", "affected", "failing", "same", "other",
    "its", "their", "one", "another", "which", "whose", "faulty", "broken", "slow", "first", "second",
    "third", "root", "suspect", "suspected", "dependent", "backing", "database", "db", "web", "front",
    "back", "external", "internal", "problem", "target", "whole", "only", "main", "core", "a-service",
    "service", "svc", "deployment", "pod", "pods", "and", "or", "of", "to", "in", "on", "by", "from",
    "is", "was", "be",
}  # fmt: skip


@dataclass(frozen=True)
class Citable:
    """The evidence a model may cite by id, and which services each id belongs to."""

    evidence: Mapping[str, Evidence]
    owners: Mapping[str, Set[str]]


@dataclass
class Conversion:
    """The result drafted from a report, what had to be dropped, and what the model added."""

    result: RcaResult
    dropped: list[str] = field(default_factory=list)
    contribution: str = ""
    disagrees: bool = False


def unknown_services(text: str, services: Set[str]) -> list[str]:
    """Names in `text` that read as a service (or pod, or database) and are not in the evidence."""
    found: list[str] = []
    for pattern in _NAMED:
        for match in pattern.finditer(text):
            name = _KIND_PREFIX.sub("", match.group(1)).strip(".,:;()")
            low = name.lower()
            if not name or low in _PROSE or low in found or " " in name or "=" in name:
                continue
            if name in services or any(
                name.startswith(f"{s}-") or name.startswith(f"{s}.") for s in services
            ):
                continue
            if pattern is _NAMED[0] and not re.fullmatch(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+", low):
                continue  # a backticked command, metric or number, not a name
            found.append(low)
    return found


def _sentences_known(text: str, services: Set[str], where: str, dropped: list[str]) -> str:
    kept: list[str] = []
    for sentence in (s for s in _SENTENCE.findall(text) if s.strip()):
        invented = unknown_services(sentence, services)
        if invented:
            dropped.append(f"{where}: sentence naming {', '.join(invented)} (not in the evidence) dropped")
        else:
            kept.append(sentence)
    return "".join(kept).strip()


def _own_ids(ids: list[str], service: str, citable: Citable, dropped: list[str]) -> list[str]:
    own: list[str] = []
    for raw in ids:
        ident = raw.strip().upper()
        if ident not in citable.evidence:
            dropped.append(f"evidence {raw!r} does not exist")
        elif service not in citable.owners.get(ident, set()):
            owners = ", ".join(sorted(citable.owners.get(ident, set()))) or "no service"
            dropped.append(f"evidence {ident} belongs to {owners}, not to {service}")
        elif ident not in own:
            own.append(ident)
    return own


def _candidates(
    report: Report, draft: RcaResult, citable: Citable, services: Set[str], dropped: list[str]
) -> list[tuple[RootCauseCandidate, list[str]]]:
    ranked = [c.service for c in draft.root_causes]
    kept: list[tuple[RootCauseCandidate, list[str]]] = []
    for stated in report.root_causes:
        service = stated.service.strip()
        if service not in services:
            dropped.append(f"candidate {service!r} is not a service in the evidence")
            continue
        if any(c.service == service for c, _ in kept):
            continue
        own = _own_ids(stated.evidence, service, citable, dropped)
        promoted = service not in ranked or len(kept) < ranked.index(service)
        if promoted and not own:
            dropped.append(
                f"candidate {service!r} dropped: placed above the ranking without evidence of its own"
            )
            continue
        evidence = [citable.evidence[i] for i in own] or next(
            (c.evidence for c in draft.root_causes if c.service == service), []
        )
        kept.append(
            (
                RootCauseCandidate(
                    rank=len(kept) + 1,
                    service=service,
                    hypothesis=stated.hypothesis.strip(),
                    confidence=round(stated.confidence, 2),
                    evidence=evidence,
                ),
                own,
            )
        )
        if len(kept) == MAX_CANDIDATES:
            break
    return kept


def contribution_line(
    model: ModelAlias, locale: Locale, disagreement: tuple[str, str, list[str]] | None, reordered: bool,
    looked: int, drilled: list[str], dropped: int,
) -> str:  # fmt: skip
    """One line for the card: what the model changed or added to the deterministic answer."""
    listed = message(locale, "list.and").join
    if disagreement:
        first, ranked, against = disagreement
        parts = [message(locale, "model_line.disagrees", first=first, ranked=ranked, against=listed(against))]
    else:
        parts = [message(locale, "model_line.reordered" if reordered else "model_line.kept")]
    parts.append(message(locale, "model_line.wrote"))
    if looked:
        cited = message(locale, "model_line.cited", ids=listed(drilled)) if drilled else ""
        parts.append(message(locale, "model_line.looked", looked=looked) + cited)
    if dropped:
        parts.append(message(locale, "model_line.dropped", dropped=dropped))
    head = message(locale, "model_line.head", model=model)
    return head + message(locale, "list.clauses").join(parts) + message(locale, "model_line.end")


def floor_report(
    report: Report,
    draft: RcaResult,
    citable: Citable,
    services: Set[str],
    model: ModelAlias,
    locale: Locale,
    looked: int = 0,
) -> Conversion:
    """The report on top of the deterministic `draft`, held to the evidence; `InvalidReport` if refused."""
    copied = copied_placeholders(report)
    if copied:
        raise InvalidReport(f"it copied the prompt's example back: {'; '.join(copied[:3])}")
    dropped: list[str] = []
    kept = _candidates(report, draft, citable, services, dropped)
    ranked = [c.service for c in draft.root_causes]
    if ranked and not kept:
        raise InvalidReport("the report names no service that is in the evidence with evidence of its own")
    disagreement = None
    if ranked and kept[0][0].service != ranked[0]:
        against = sorted({i.strip().upper() for i in report.counter_evidence} & set(citable.evidence))
        if not against:
            raise InvalidReport(
                f"it puts {kept[0][0].service} before the ranking's first, {ranked[0]}, "
                f"without citing evidence against {ranked[0]}"
            )
        disagreement = (kept[0][0].service, ranked[0], against)
    summary = _sentences_known(report.summary, services, "summary", dropped)
    if not summary:
        raise InvalidReport(
            "the report has no summary (or only sentences naming services not in the evidence)"
        )
    actions: list[str] = []
    for action in (a.strip() for a in report.next_actions if a.strip()):
        invented = unknown_services(action, services)
        if invented:
            dropped.append(f"next action naming {', '.join(invented)} (not in the evidence) dropped")
        else:
            actions.append(action)
    order = [c.service for c, _ in kept]
    drilled = sorted({i for _, own in kept for i in own if i.startswith("T")})
    line = contribution_line(
        model, locale, disagreement, order != ranked[: len(order)], looked, drilled, len(dropped)
    )
    result = draft.model_copy(
        update={
            "summary": summary,
            "root_causes": [c for c, _ in kept],
            "next_actions": actions or draft.next_actions,
            "model": model,
        }
    )
    return Conversion(result, dropped, line, disagreement is not None)
