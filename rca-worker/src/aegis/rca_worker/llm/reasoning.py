"""One conversation with the model: digest in, maybe a few read-only look-ups, a report out.

Tool-capable models get the drill-down tools and `submit_report`; the loop ends when they submit,
answer in text, or run out of look-ups (then they are asked to submit). Models without tool calls
answer in text, which `parse_report` reads. The caller bounds the whole conversation in time.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from aegis.rca_worker.llm.drilldown import SUBMIT, Drilldown, tool_specs
from aegis.rca_worker.llm.prompting import finish_prompt, question_prompt, system_prompt
from aegis.rca_worker.llm.providers import Provider
from aegis.rca_worker.llm.report import InvalidReport, Report, parse_report
from aegis.shared.settings import Locale

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Conversation:
    """How the model answered: its report and how many look-ups it made."""

    report: Report
    tool_calls: int


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
        return Conversation(parse_report(reply.content), 0)
    left = max_tool_calls
    made = 0
    for _ in range(max_tool_calls + 2):
        runnable: Any = chat.bind_tools(tool_specs(drill=left > 0))
        reply = await runnable.ainvoke(messages, **provider.tool_call_options)
        messages.append(reply)
        calls = list(getattr(reply, "tool_calls", None) or [])
        submitted = next((c for c in calls if c["name"] == SUBMIT), None)
        if submitted is not None:
            return Conversation(parse_report(submitted["args"]), made)
        if not calls:
            return Conversation(parse_report(reply.content), made)
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
