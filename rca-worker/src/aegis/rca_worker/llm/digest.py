"""The evidence digest: what the LLM reads, compact, within a token budget, untrusted text fenced off.

Never raw dumps: the deterministic ranking in numbers, then evidence items with ids the model must
cite (`E1`, `E2`, …), most relevant services first, until the budget is spent. Log lines, span
excerpts and alert labels are data written by systems anyone can influence; they go inside
`<untrusted>…</untrusted>` (see `guard.fencing`), so that an instruction hidden in a log line reads as
what it is. Service names and label values come from the same systems and are fenced too.

Token counts are a measured estimate (no tokenizer ships offline for every model): one token per
CJK character, per digit and per other symbol, and one per five letters of a word. Against a real
BPE tokenizer (SmolLM2's, through llama-server's `/tokenize`, in `tests/e2e/test_real_model.py`)
it reads 0–10 % high on digests and about 15 % high on prose: never low, so a budget holds.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.guard.fencing import MAX_EXCERPT, untrusted
from aegis.rca_worker.ranking.candidates import Ranking, ScoredService
from aegis.rca_worker.ranking.hypothesis import evidence_for
from aegis.shared.rca import Evidence

TOP_SERVICES = 8
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# A CJK character, a run of Latin letters, a digit, or any other symbol; whitespace joins the next.
_PIECE = re.compile(rf"[{_CJK}]|[A-Za-z]+|\d|[^\sA-Za-z\d{_CJK}]")
LETTERS_PER_TOKEN = 5


def estimate_tokens(text: str) -> int:
    """Estimated tokens of `text`: see the module docstring."""
    return sum(
        math.ceil(len(piece) / LETTERS_PER_TOKEN) if piece[0].isascii() and piece[0].isalpha() else 1
        for piece in _PIECE.findall(text)
    )


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Digest:
    """The digest text, the evidence it offers by id (and whose each id is), and its estimated size."""

    text: str
    catalogue: dict[str, Evidence] = field(default_factory=dict)
    omitted: int = 0
    owners: dict[str, set[str]] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        """Estimated tokens of the text."""
        return estimate_tokens(self.text)


def _name(service: str) -> str:
    return untrusted(service, 80)


def _evidence_line(ident: str, service: str, evidence: Evidence) -> str:
    # The query text is left out: a model cannot run it and cites the id; the excerpt says what it shows.
    return f"{ident} [{evidence.kind}] {_name(service)}: {untrusted(evidence.excerpt, MAX_EXCERPT)}"


def _listing(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … (+{len(items) - limit} more)" if len(items) > limit else "")


def _header(
    bundle: EvidenceBundle, ranking: Ranking, named: list[str], alert_labels: dict[str, str]
) -> list[str]:
    lines = [
        "## Window",
        f"{_clock(bundle.start)} → {_clock(bundle.end)}; change point ≈ {_clock(ranking.change)}",
        "## Scope",
        f"services: {untrusted(_listing(bundle.services, 60), 4000) if bundle.services else '(none found)'}",
        f"named by the asker: {untrusted(', '.join(named), 400) if named else '(none: whole estate)'}",
    ]
    if bundle.edges:
        calls = _listing([f"{a}→{b}" for a, b in bundle.edges], 80)
        lines.append(f"calls (caller→callee): {untrusted(calls, 4000)}")
    if alert_labels:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(alert_labels.items()))
        lines.append(f"alert labels: {untrusted(pairs, 400)}")
    return lines


def _ranking_lines(ranked: list[ScoredService], cited: dict[str, list[str]]) -> list[str]:
    lines = [
        "## Deterministic ranking (higher score = more likely where it starts)",
        "own = 0–1, how strongly the service's own signals point at it (saturation, restarts, silence, "
        "self-time, errors that start there, lines naming it); symptom = 0–1, errors, latency or traffic "
        "it shows, which a failing dependency can cause; score = own + symptom, the symptom discounted "
        "when 'may only suffer from' names a dependency that explains it; evidence = ids listed below.",
    ]
    for position, scored in enumerate(ranked, start=1):
        explained = f"; may only suffer from {_name(scored.explained_by)}" if scored.explained_by else ""
        ids = " ".join(cited.get(scored.service, [])) or "-"
        lines.append(
            f"{position}. {_name(scored.service)} score={scored.score:.2f} own={scored.own:.2f} "
            f"symptom={scored.symptom:.2f}{explained}; evidence: {ids}"
        )
    if not ranked:
        lines.append("(no service shows an anomaly)")
    return lines


def build_digest(
    bundle: EvidenceBundle,
    ranking: Ranking,
    named: list[str],
    alert_labels: dict[str, str],
    budget_tokens: int,
) -> Digest:
    """The digest of one analysis, cut to `budget_tokens` (estimated) by leaving out evidence."""
    ranked = ranking.top(TOP_SERVICES)
    offered = [(scored, evidence) for scored in ranked for evidence in evidence_for(scored)]
    tail = ["## Evidence gaps", *(f"- {gap.describe()}" for gap in bundle.gaps)] if bundle.gaps else []
    head = _header(bundle, ranking, named, alert_labels)
    # The ranking and the closing lines are reserved before the rest is spent on evidence; each id
    # cited in the ranking costs about as much as its own reference ("E12 ").
    closing = "## Evidence (cite by id)\n(99 more evidence items left out to stay within the budget)"
    used = estimate_tokens("\n".join([*head, *tail, *_ranking_lines(ranked, {}), closing]))
    catalogue: dict[str, Evidence] = {}
    owners: dict[str, set[str]] = {}
    evidence_lines: list[str] = []
    cited: dict[str, list[str]] = {}
    omitted = 0
    for scored, evidence in offered:
        ident = f"E{len(catalogue) + 1}"
        line = _evidence_line(ident, scored.service, evidence)
        cost = estimate_tokens(line) + estimate_tokens(f" {ident}") + 1
        if used + cost > budget_tokens:
            omitted += 1
            continue
        catalogue[ident] = evidence
        owners[ident] = {scored.service}
        evidence_lines.append(line)
        cited.setdefault(scored.service, []).append(ident)
        used += cost
    lines = [*head, *_ranking_lines(ranked, cited), "## Evidence (cite by id)", *evidence_lines]
    if omitted:
        lines.append(f"({omitted} more evidence items left out to stay within the budget)")
    return Digest("\n".join(lines + tail), catalogue, omitted, owners)
