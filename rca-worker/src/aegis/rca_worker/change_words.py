"""What changed on a candidate, in words on the answer: "payment 在异常前 2 分钟发布了新版本".

A rollout of the top candidate minutes before the onset is the first thing an on-call engineer
checks, so it is first-class evidence: a sentence in the hypothesis and the kube-state-metrics
query that shows it, ahead of the other references. OOMKills and CrashLoopBackOff are said the same
way, and so is a service known by other names in other backends. Pure: words from the bundle.
"""

from datetime import UTC, datetime

from aegis.rca_worker.evidence import Change, EvidenceBundle
from aegis.shared.messages import message
from aegis.shared.rca import Evidence, RootCauseCandidate
from aegis.shared.settings import Locale

MAX_EVIDENCE = 5
LEAD_S = 3600.0  # a change up to an hour before the onset still counts as "before the anomaly"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def describe_change(change: Change, onset: float, locale: Locale) -> str:
    """One clause about one change, relative to the onset for a rollout."""
    minutes = round((onset - change.time) / 60)
    clock = _clock(change.time)
    if change.kind == "rollout":
        when = (
            message(locale, "change.before_onset", minutes=minutes)
            if minutes > 0
            else message(locale, "change.at", clock=clock)
        )
        return message(locale, "change.rollout", service=change.service, when=when, detail=change.detail)
    if change.kind == "oom_killed":
        return message(locale, "change.oom_killed", service=change.service, clock=clock)
    return message(locale, "change.other", service=change.service, clock=clock, detail=change.detail)


def describe_aliases(service: str, names: dict[str, str], locale: Locale) -> str:
    """`payment` is `payment-svc` in Loki and `payment-api` in Jaeger."""
    listed = ", ".join(f"{backend} {name}" for backend, name in sorted(names.items()))
    return message(locale, "change.aliases", service=service, listed=listed)


def first_of_each_kind(changes: list[Change]) -> list[Change]:
    """One change of each kind, the earliest; for rollouts the new ReplicaSet (it has a name)."""
    chosen: dict[str, Change] = {}
    for change in sorted(changes, key=lambda c: ("ReplicaSet" not in c.detail, c.time)):
        chosen.setdefault(change.kind, change)
    return sorted(chosen.values(), key=lambda c: c.time)


def with_changes(
    found: list[RootCauseCandidate], bundle: EvidenceBundle, onset: float, locale: Locale
) -> list[RootCauseCandidate]:
    """The candidates with their changes (and other names) said first in words and in evidence."""
    result = []
    for candidate in found:
        changes = first_of_each_kind(
            [c for c in bundle.changes if c.service == candidate.service and c.time >= onset - LEAD_S]
        )
        clauses = [describe_change(c, onset, locale) for c in changes[:2]]
        if candidate.service in bundle.aliases:
            clauses.append(describe_aliases(candidate.service, bundle.aliases[candidate.service], locale))
        if not clauses:
            result.append(candidate)
            continue
        joiner, end = message(locale, "list.clauses"), message(locale, "change.end")
        evidence = [
            Evidence(kind="metric", query=c.query, excerpt=describe_change(c, onset, "en"))
            for c in changes[:2]
        ]
        result.append(
            candidate.model_copy(
                update={
                    "hypothesis": joiner.join(clauses) + end + candidate.hypothesis,
                    "evidence": (evidence + candidate.evidence)[:MAX_EVIDENCE],
                }
            )
        )
    return result
