"""Words for a ranked candidate, in Chinese and English, and the evidence references behind them.

The text only states what the evidence shows (which signal moved, where trace errors start, which
log line burst) and never claims an action was taken. Each reference carries its query (PromQL,
LogQL, or trace id) so a human can check it.
"""

import math
from datetime import UTC, datetime

from aegis.rca_worker.ranking.candidates import ERROR_SOURCE, Ranking, ScoredService
from aegis.rca_worker.ranking.features import ABSENT, CALL_GAP, SELF_TIME, SignalFinding
from aegis.shared.messages import CATALOGUES, message
from aegis.shared.rca import Evidence, RootCauseCandidate
from aegis.shared.settings import Locale

MAX_EVIDENCE = 5


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def _value(signal: str, value: float) -> str:
    if signal in ("error_ratio", ERROR_SOURCE):
        return f"{value * 100:.1f}%"
    if signal.startswith("latency"):
        return f"{value * 1000:.0f}ms"
    if signal == "memory":
        return f"{value / 2**20:.0f}MiB"
    if signal in (SELF_TIME, CALL_GAP):
        return f"{value:.0f}ms"
    return f"{value:.3g}"


def _signal_phrase(f: SignalFinding, locale: Locale) -> str:
    key = f"signal.{f.signal}"
    name = message(locale, key) if key in CATALOGUES[locale] else f.signal
    if f.signal == ABSENT:
        return name
    return f"{name} {_value(f.signal, f.before)}→{_value(f.signal, f.after)}"


def _top_signals(s: ScoredService) -> list[SignalFinding]:
    """The moved signals, strongest first, one per query (an error ratio read as the errors' source
    is the same series as the error ratio: own evidence first)."""
    own = list(s.findings.own.values())
    ordered = sorted(
        (f for f in [*own, *s.findings.symptoms.values()] if abs(f.score) >= 3),
        key=lambda f: (-abs(f.score), f not in own, f.signal),
    )
    return [f for i, f in enumerate(ordered) if all(g.query != f.query for g in ordered[:i])]


def hypothesis(s: ScoredService, change: float, locale: Locale) -> str:
    """One or two sentences saying why this service may be where it starts."""
    signals = ", ".join(_signal_phrase(f, locale) for f in _top_signals(s)[:3])
    origins = len(s.findings.origins)
    own_logs = sorted(s.findings.own_logs, key=lambda x: -x.burst)
    at = _clock(change)
    opening = message(locale, "hypothesis.anomalous", service=s.service, at=at)
    parts = [opening + (message(locale, "hypothesis.signals", signals=signals) if signals else "")]
    if origins:
        parts.append(message(locale, "hypothesis.origins", origins=origins, service=s.service))
    if own_logs:
        first = own_logs[0]
        if first.skipped:
            parts.append(
                message(
                    locale,
                    "hypothesis.log_stopped",
                    operation=first.template.operation,
                    template=first.template.template[:80],
                )
            )
        else:
            parts.append(message(locale, "hypothesis.log_burst", template=first.template.template[:80]))
    if s.findings.blame_logs:
        parts.append(message(locale, "hypothesis.blamed", service=s.service))
    tail = (
        message(locale, "hypothesis.cause")
        if s.explained_by is None
        else message(locale, "hypothesis.downstream", downstream=s.explained_by)
    )
    return message(locale, "list.clauses").join(parts) + tail


def evidence_for(s: ScoredService) -> list[Evidence]:
    """References a human can re-run: PromQL with the move, LogQL with a sample line, trace ids."""
    result: list[Evidence] = []
    for f in _top_signals(s)[:2]:
        if f.query.startswith("jaeger:"):
            continue
        excerpt = f"{_signal_phrase(f, 'en')} (robust score {f.score:.1f})"
        result.append(Evidence(kind="metric", query=f.query, excerpt=excerpt))
    for log in sorted(
        s.findings.own_logs + s.findings.blame_logs, key=lambda x: (-x.burst, x.template.template)
    )[:2]:
        t = log.template
        excerpt = (
            f"{t.count} lines from {t.service} {_clock(t.first_seen)}–{_clock(t.last_seen)}: {t.sample[:200]}"
        )
        result.append(Evidence(kind="log", query=t.query or t.template, excerpt=excerpt))
    for origin in s.findings.origins[:1]:
        result.append(Evidence(kind="trace", query=f"trace {origin.trace_id}", excerpt=origin.excerpt))
    return result[:MAX_EVIDENCE]


def confidence(s: ScoredService, ranking: Ranking) -> float:
    """The candidate's share of the top scores, damped when the evidence is weak overall."""
    top = ranking.top(3)
    total = sum(x.score for x in top)
    if total <= 0 or s.score <= 0:
        return 0.0
    return round(min(0.99, s.score / total * (1.0 - math.exp(-2.0 * s.score))), 2)


def candidates(ranking: Ranking, locale: Locale, k: int = 3) -> list[RootCauseCandidate]:
    """The first `k` candidates as the shared contract's `RootCauseCandidate`s."""
    return [
        RootCauseCandidate(
            rank=i,
            service=s.service,
            hypothesis=hypothesis(s, ranking.change, locale),
            confidence=confidence(s, ranking),
            evidence=evidence_for(s),
        )
        for i, s in enumerate(ranking.top(k), start=1)
    ]
