"""reason: the LLM reads the digest and the ranking, may look closer, and drafts the answer.

Anything that goes wrong here — no provider, a turn or the whole step past its timeout, an error,
a report the evidence floor refuses — leaves the deterministic draft in place and says why: in the
answer (marked degraded), in the worker's log and in `aegis_rca_llm_fallbacks_total` by cause.
"""

import asyncio

import structlog

from aegis.rca_worker.llm.digest import build_digest
from aegis.rca_worker.llm.drilldown import Drilldown
from aegis.rca_worker.llm.floor import Citable, floor_report
from aegis.rca_worker.llm.providers import ModelUnavailable, Provider, without_tools
from aegis.rca_worker.llm.reasoning import Conversation, TurnTimeout, converse
from aegis.rca_worker.llm.report import InvalidReport
from aegis.rca_worker.pipeline.context import AnalysisContext
from aegis.rca_worker.pipeline.state import AnalysisState
from aegis.rca_worker.pipeline.steps import StepOutcome
from aegis.rca_worker.service.metrics import LLM_FALLBACKS

log = structlog.get_logger(__name__)


def _refuses_tools(error: Exception) -> bool:
    text = str(error).lower()
    return "does not support tools" in text or ("tool" in text and "not support" in text)


async def reason(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Ask the question's model; on any failure keep the deterministic draft and record why."""
    question, bundle, ranking, draft = state["question"], state["bundle"], state["ranking"], state["draft"]
    settings = context.settings
    alias = state.get("model", "none")
    if context.models is None:
        return _degraded(alias, "unavailable", "no LLM is available to this worker")
    try:
        provider, chat = context.models.get(alias)
    except ModelUnavailable as error:
        return _degraded(alias, "unavailable", str(error))
    named = state["scope"].named if "scope" in state else []
    digest = build_digest(bundle, ranking, named, question.alert_labels, settings.llm_max_digest_tokens)
    services = set(bundle.services) | {s.service for s in ranking.services}
    drill = Drilldown(context.client, settings, bundle.start, bundle.end, ranking.change, services)
    step_s = min(settings.llm_step_timeout_s, settings.llm_timeout_s)

    async def ask(using: Provider) -> Conversation:
        return await converse(
            chat,
            using,
            question.text,
            digest.text,
            drill,
            settings.locale,
            settings.llm_max_tool_calls,
            step_s,
        )

    try:
        async with asyncio.timeout(settings.llm_timeout_s):
            try:
                conversation = await ask(provider)
            except Exception as error:
                if not (provider.tools and _refuses_tools(error)):
                    raise
                context.models.without_tools(alias, f"refused: {str(error)[:120]}")
                conversation = await ask(without_tools(provider))
        if provider.tools and not conversation.used_tools:
            context.models.without_tools(alias, "answered in text though tools were offered")
        citable = Citable({**digest.catalogue, **drill.found}, {**digest.owners, **drill.owners})
        conversion = floor_report(
            conversation.report, draft, citable, services, alias, settings.locale, conversation.tool_calls
        )
    except TurnTimeout as error:
        return _degraded(alias, "timeout", f"{provider.describe()} {error}")
    except TimeoutError:
        return _degraded(
            alias, "timeout", f"{provider.describe()} did not answer within {settings.llm_timeout_s:g}s"
        )
    except InvalidReport as error:
        return _degraded(alias, "refused", f"{provider.describe()} gave an unusable answer: {error}")
    except Exception as error:  # noqa: BLE001 - a broken model must never cost the asker the deterministic answer
        return _degraded(
            alias, "error", f"{provider.describe()} failed: {type(error).__name__}: {str(error)[:160]}"
        )
    return StepOutcome(
        {
            "draft": conversion.result.model_copy(update={"model_contribution": conversion.contribution}),
            "collected": [*digest.catalogue.values(), *drill.found.values()],
            "guard_notes": conversion.dropped,
        },
        provider.describe(),
        {
            "tool_calls": conversation.tool_calls,
            "digest_tokens": digest.tokens,
            "dropped": len(conversion.dropped),
            "repaired": int(conversation.repaired),
            "disagrees": int(conversion.disagrees),
        },
    )


def _degraded(alias: str, cause: str, reason: str) -> StepOutcome:
    """The deterministic answer stays; why is logged, counted by cause and said on the card."""
    log.warning("llm fallback", model=alias, cause=cause, reason=reason[:300])
    LLM_FALLBACKS.labels(alias, cause).inc()
    return StepOutcome({"degraded": [reason]}, reason, {"fallback": 1}, status="failed")
