"""reason: the LLM reads the digest and the ranking, may look closer, and drafts the answer.

Anything that goes wrong here — no provider, a timeout, an error, an unusable report — leaves the
deterministic draft in place and says why; the answer is then marked degraded.
"""

import asyncio
import dataclasses

import structlog

from aegis.rca_worker.graph.context import AnalysisContext
from aegis.rca_worker.graph.state import AnalysisState
from aegis.rca_worker.graph.steps import StepOutcome
from aegis.rca_worker.llm.digest import build_digest
from aegis.rca_worker.llm.drilldown import Drilldown
from aegis.rca_worker.llm.floor import Citable, floor_report
from aegis.rca_worker.llm.providers import ModelUnavailable, Provider
from aegis.rca_worker.llm.reasoning import Conversation, converse
from aegis.rca_worker.llm.report import InvalidReport

log = structlog.get_logger(__name__)


def _refuses_tools(error: Exception) -> bool:
    return "does not support tools" in str(error)


async def reason(state: AnalysisState, context: AnalysisContext) -> StepOutcome:
    """Ask the question's model; on any failure keep the deterministic draft and record why."""
    question, bundle, ranking, draft = state["question"], state["bundle"], state["ranking"], state["draft"]
    settings = context.settings
    alias = state.get("model", "none")
    if context.models is None:
        return _degraded("no LLM is available to this worker")
    try:
        provider, chat = context.models.get(alias)
    except ModelUnavailable as error:
        return _degraded(str(error))
    named = state["scope"].named if "scope" in state else []
    digest = build_digest(bundle, ranking, named, question.alert_labels, settings.llm_max_digest_tokens)
    services = set(bundle.services) | {s.service for s in ranking.services}
    drill = Drilldown(context.client, settings, bundle.start, bundle.end, ranking.change, services)

    async def ask(using: Provider) -> Conversation:
        return await converse(
            chat, using, question.text, digest.text, drill, settings.locale, settings.llm_max_tool_calls
        )

    try:
        async with asyncio.timeout(settings.llm_timeout_s):
            try:
                conversation = await ask(provider)
            except Exception as error:
                if not (provider.tools and _refuses_tools(error)):
                    raise
                conversation = await ask(dataclasses.replace(provider, tools=False, tool_call_options={}))
        citable = Citable({**digest.catalogue, **drill.found}, {**digest.owners, **drill.owners})
        conversion = floor_report(
            conversation.report, draft, citable, services, alias, settings.locale, conversation.tool_calls
        )
    except TimeoutError:
        return _degraded(f"{provider.describe()} did not answer within {settings.llm_timeout_s:g}s")
    except InvalidReport as error:
        return _degraded(f"{provider.describe()} gave an unusable answer: {error}")
    except Exception as error:  # noqa: BLE001 - a broken model must never cost the asker the deterministic answer
        log.warning("llm failed", model=provider.describe(), error=repr(error)[:300])
        return _degraded(f"{provider.describe()} failed: {type(error).__name__}: {str(error)[:160]}")
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


def _degraded(reason: str) -> StepOutcome:
    return StepOutcome({"degraded": [reason]}, reason, status="failed")
