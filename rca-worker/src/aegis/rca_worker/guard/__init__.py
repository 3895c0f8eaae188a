"""The guard: the last step before an answer leaves, pure, whatever wrote the draft (ranking or LLM).

It holds the answer to the promises users rely on: the shared schema, one to three candidates on
distinct services that exist, evidence that was really collected, no claim of having changed
anything, next actions addressed to a human, and destructive commands among them marked as needing
a human's review. What it fixes, it notes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from aegis.rca_worker.guard.claims import rewrite_claims
from aegis.rca_worker.guard.destructive import destructive_command, marked_for_review
from aegis.shared.messages import message
from aegis.shared.rca import Evidence, RcaResult, RootCauseCandidate
from aegis.shared.settings import Locale

MAX_CANDIDATES = 3
# How an action already addressed to a human begins, per locale (matched case-insensitively).
_FOR_A_HUMAN: dict[Locale, tuple[str, ...]] = {
    "zh": ("建议人工", "人工", "请人工", "由人工", "建议由人工", "建议值班", "请值班"),
    "en": ("recommend a human", "a human should", "ask a human", "have a human", "an operator should"),
}


@dataclass(frozen=True)
class Guarded:
    """The checked result and what the guard changed in it."""

    result: RcaResult
    notes: list[str] = field(default_factory=list)

    @property
    def rewritten_claims(self) -> int:
        """How many sentences claimed a change and were rewritten."""
        return sum(1 for note in self.notes if note.startswith("claim rewritten"))


def for_a_human(action: str, locale: Locale) -> str:
    """`action` phrased as a recommendation for a human, unless it already is one."""
    text = action.strip()
    if text.lower().startswith(_FOR_A_HUMAN[locale]):
        return text
    return message(locale, "guard.for_a_human", action=text)


def _evidence_key(evidence: Evidence) -> tuple[str, str]:
    return evidence.kind, evidence.query


def guard_result(
    result: RcaResult, collected: Iterable[Evidence], services: set[str], locale: Locale
) -> Guarded:
    """`result` made safe to show: see the module docstring for what holds afterwards."""
    notes: list[str] = []
    known = {_evidence_key(e) for e in collected}

    def clean(text: str, where: str) -> str:
        rewrite = rewrite_claims(text, services, locale)
        notes.extend(f"claim rewritten in {where}: {claim[:120]}" for claim in rewrite.claims)
        return rewrite.text

    candidates: list[RootCauseCandidate] = []
    for candidate in result.root_causes:
        if candidate.service not in services:
            notes.append(f"candidate dropped: {candidate.service!r} is not a service in the evidence")
            continue
        if any(c.service == candidate.service for c in candidates) or len(candidates) == MAX_CANDIDATES:
            notes.append(f"candidate dropped: {candidate.service!r} repeated or beyond {MAX_CANDIDATES}")
            continue
        evidence = [e for e in candidate.evidence if _evidence_key(e) in known]
        if len(evidence) < len(candidate.evidence):
            notes.append(f"evidence dropped from {candidate.service}: not among the collected evidence")
        candidates.append(
            candidate.model_copy(
                update={
                    "rank": len(candidates) + 1,
                    "hypothesis": clean(candidate.hypothesis, f"hypothesis of {candidate.service}"),
                    "evidence": evidence,
                }
            )
        )
    actions: list[str] = []
    for action in (a for a in result.next_actions if a.strip()):
        command = destructive_command(action)
        if command is not None:
            notes.append(f"destructive command marked for review: {command[:120]}")
        actions.append(marked_for_review(for_a_human(clean(action, "next actions"), locale), locale))
    checked = result.model_copy(
        update={
            "summary": clean(result.summary, "summary"),
            "root_causes": candidates,
            "next_actions": [a for a in actions if a],
        }
    )
    return Guarded(RcaResult.model_validate(checked.model_dump()), notes)
