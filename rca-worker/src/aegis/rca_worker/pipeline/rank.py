"""rank: the deterministic ranking and the answer it alone gives (the draft the LLM may improve).

`Analysis` is what the step knows — evidence, ranking, timings — and the answer it drafts; the
ranking itself is `aegis.rca_worker.ranking`, a pure function of the evidence bundle.
"""

from dataclasses import dataclass, field

from aegis.rca_worker.change_words import with_changes
from aegis.rca_worker.evidence import EvidenceBundle
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.pipeline.steps import StepOutcome
from aegis.rca_worker.ranking.candidates import Ranking, rank_candidates
from aegis.rca_worker.ranking.hypothesis import candidates
from aegis.shared.messages import message
from aegis.shared.questions import ReplyTo
from aegis.shared.rca import RcaResult, RootCauseCandidate
from aegis.shared.settings import Locale
from aegis.shared.subjects import QuestionSource


@dataclass
class Analysis:
    """Evidence, ranking and timings of one analysis."""

    bundle: EvidenceBundle
    ranking: Ranking
    timings: dict[str, int] = field(default_factory=dict)

    def candidates(self, locale: Locale = "zh", k: int = 3) -> list[RootCauseCandidate]:
        """The top `k` candidates with hypotheses in `locale`."""
        return with_changes(candidates(self.ranking, locale, k), self.bundle, self.ranking.change, locale)

    def to_result(
        self, request_id: str, source: QuestionSource, reply_to: ReplyTo | None = None, locale: Locale = "zh"
    ) -> RcaResult:
        """The deterministic `RcaResult` (model `none`)."""
        found = self.candidates(locale)
        gaps = [gap.describe() for gap in self.bundle.gaps]
        if found:
            top = found[0]
            summary = message(locale, "answer.top", service=top.service, confidence=top.confidence)
        else:
            summary = message(locale, "answer.no_anomaly")
        actions = [message(locale, "answer.check", service=c.service) for c in found[:2]]
        return RcaResult(
            request_id=request_id,
            source=source,
            reply_to=reply_to,
            summary=summary,
            root_causes=found,
            next_actions=actions,
            model="none",
            degraded=bool(gaps),
            degraded_reason=("evidence gaps: " + "; ".join(gaps))[:500] if gaps else None,
            evidence_gaps=gaps,
            timings=dict(self.timings),
        )


async def rank(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Rank every service of the evidence; draft the deterministic answer from the top three."""
    question = state["question"]
    bundle = state["bundle"]
    # Pure but CPU-bound on a large estate: in the analysis's lane (an API analysis's is a thread).
    ranking = await context.client.lane.run(rank_candidates, bundle)
    draft = Analysis(bundle, ranking).to_result(
        question.request_id, question.source, question.reply_to, context.settings.locale
    )
    top = ", ".join(c.service for c in draft.root_causes) or "-"
    return StepOutcome(
        {
            "ranking": ranking,
            "draft": draft,
            "model": state.get("model") or question.model or "none",
            "collected": [e for c in draft.root_causes for e in c.evidence],
        },
        top,
        {"candidates": len(draft.root_causes)},
    )
