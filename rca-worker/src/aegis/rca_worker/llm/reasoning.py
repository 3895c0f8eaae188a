"""One conversation with the model: digest in, maybe a few read-only look-ups, a report out.

Tool-capable models get the drill-down tools and `submit_report`; the loop ends when they submit,
answer in text, or run out of look-ups (then they are asked to submit). Models without tool calls
answer in text, which `parse_report` reads. A schema slip (no JSON, a missing field, a wrong type)
gets one repair attempt: the model is told what was wrong and asked for the report again. The caller
bounds the whole conversation in time.
"""

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
    """How the model answered: its report, how many look-ups it made, whether it needed a repair."""

    report: Report
    tool_calls: int
    repaired: bool = False


async def converse(
    chat: "BaseChatModel",
    provider: Provider,
    question: str,
    digest: str,
    drill: Drilldown,
    locale: Locale,
    max_tool_calls: int,
) -> Conversation:
    """Ask the model; `InvalidReport` when its answer is unusable (the caller degrades)."""
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

    messages: list[BaseMessage] = [
        SystemMessage(system_prompt(locale, provider.tools, max_tool_calls)),
        HumanMessage(question_prompt(question, digest)),
    ]
    if not provider.tools:
        reply = await chat.ainvoke(messages)
        try:
            return Conversation(parse_report(reply.content), 0)
        except InvalidReport as error:
            return await _repair(chat, [*messages, reply], error, 0)
    left = max_tool_calls
    made = 0
    for _ in range(max_tool_calls + 2):
        runnable: Any = chat.bind_tools(tool_specs(drill=left > 0))
        reply = await runnable.ainvoke(messages, **provider.tool_call_options)
        messages.append(reply)
        calls = list(getattr(reply, "tool_calls", None) or [])
        submitted = next((c for c in calls if c["name"] == SUBMIT), None)
        if submitted is not None or not calls:
            try:
                return Conversation(
                    parse_report(reply.content if submitted is None else submitted["args"]), made
                )
            except InvalidReport as error:
                return await _repair(chat, messages, error, made, submitted and submitted.get("id"))
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
    chat: "BaseChatModel", messages: "list[BaseMessage]", error: InvalidReport, made: int, call_id: Any = None
) -> Conversation:
    """One more turn, without tools: what was wrong, and a request for the report as JSON."""
    from langchain_core.messages import HumanMessage, ToolMessage

    log.info("llm report repair", error=str(error)[:200])
    repair = repair_prompt(str(error))
    follow: BaseMessage = (
        ToolMessage(content=repair, tool_call_id=call_id) if call_id else HumanMessage(repair)
    )
    reply = await chat.ainvoke([*messages, follow])
    return Conversation(parse_report(reply.content), made, repaired=True)
