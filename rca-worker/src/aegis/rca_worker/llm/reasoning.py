"""One conversation with the model: digest in, maybe a few read-only look-ups, a report out.

Tool-capable models get the drill-down tools and `submit_report`; the loop ends when they submit,
answer in text, or run out of look-ups (then they are asked to submit). Models without tool calls
answer in text, which `parse_report` reads. Each turn is bounded by `LLM_STEP_TIMEOUT_S`. A schema
slip (no JSON, a missing field, a wrong type) gets one repair attempt: the model is told what was
wrong and asked for the report again. The caller bounds the whole conversation in time.
"""

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from aegis.rca_worker.llm.drilldown import SUBMIT, Drilldown, tool_specs
from aegis.rca_worker.llm.prompting import finish_prompt, question_prompt, repair_prompt, system_prompt
from aegis.rca_worker.llm.providers import Provider
from aegis.rca_worker.llm.report import InvalidReport, Report, parse_report
from aegis.shared.settings import Locale

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Conversation:
    """How the model answered: its report, look-ups made, whether it needed a repair, took tools."""

    report: Report
    tool_calls: int
    repaired: bool = False
    used_tools: bool = False


class TurnTimeout(TimeoutError):
    """One model turn took longer than `LLM_STEP_TIMEOUT_S`."""


async def _turn(runnable: Any, messages: "list[BaseMessage]", step_s: float, **options: Any) -> Any:
    try:
        async with asyncio.timeout(step_s):
            return await runnable.ainvoke(messages, **options)
    except TimeoutError:
        raise TurnTimeout(f"one model turn took longer than {step_s:g}s") from None


async def converse(
    chat: "BaseChatModel",
    provider: Provider,
    question: str,
    digest: str,
    drill: Drilldown,
    locale: Locale,
    max_tool_calls: int,
    step_s: float,
) -> Conversation:
    """Ask the model, each turn within `step_s`; `InvalidReport` when its answer is unusable."""
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

    messages: list[BaseMessage] = [
        SystemMessage(system_prompt(locale, provider.tools, max_tool_calls)),
        HumanMessage(question_prompt(question, digest)),
    ]
    if not provider.tools:
        reply = await _turn(chat, messages, step_s)
        try:
            return Conversation(parse_report(reply.content), 0)
        except InvalidReport as error:
            return await _repair(chat, [*messages, reply], error, 0, step_s)
    left = max_tool_calls
    made = 0
    for _ in range(max_tool_calls + 2):
        runnable: Any = chat.bind_tools(tool_specs(drill=left > 0))
        reply = await _turn(runnable, messages, step_s, **provider.tool_call_options)
        messages.append(reply)
        calls = list(getattr(reply, "tool_calls", None) or [])
        submitted = next((c for c in calls if c["name"] == SUBMIT), None)
        if submitted is not None or not calls:
            used = bool(made or submitted)
            content = reply.content if submitted is None else submitted["args"]
            try:
                return Conversation(parse_report(content), made, used_tools=used)
            except InvalidReport as error:
                call_id = submitted.get("id") if submitted else None
                repaired = await _repair(chat, messages, error, made, step_s, call_id)
                return dataclasses.replace(repaired, used_tools=used)
        for call in calls:
            if left > 0:
                answer = await drill.call(call["name"], call.get("args") or {})
                left -= 1
                made += 1
                log.info("llm looked closer", tool=call["name"], left=left)
            else:
                answer = "error: no look-ups left; submit the report now"
            messages.append(ToolMessage(content=answer, tool_call_id=call.get("id") or call["name"]))
        if left <= 0:
            messages.append(HumanMessage(finish_prompt()))
    raise InvalidReport("the model kept calling tools instead of submitting a report")


async def _repair(
    chat: "BaseChatModel",
    messages: "list[BaseMessage]",
    error: InvalidReport,
    made: int,
    step_s: float,
    call_id: str | None = None,
) -> Conversation:
    """One more turn, without tools: what was wrong, and a request for the report as JSON."""
    from langchain_core.messages import HumanMessage, ToolMessage

    log.info("llm report repair", error=str(error)[:200])
    repair = repair_prompt(str(error))
    follow: BaseMessage = HumanMessage(repair)
    if call_id:  # the report came as a tool call: its answer must be a tool message
        follow = ToolMessage(content=repair, tool_call_id=call_id)
    reply = await _turn(chat, [*messages, follow], step_s)
    return Conversation(parse_report(reply.content), made, repaired=True)
