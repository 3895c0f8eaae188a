"""`aegis ask`: put a question to the rca-worker from a terminal and watch it being answered.

It listens for the answer before publishing the question, so even an instant answer is seen, and
it prints progress as the worker reports each step.
"""

import asyncio
import re
import uuid
from datetime import timedelta
from typing import TextIO

from nats.aio.client import Client
from nats.aio.msg import Msg

from aegis.shared.questions import ModelAlias, QuestionEvent, TimeWindow
from aegis.shared.rca import RcaProgress, RcaResult
from aegis.shared.subjects import progress_subject, question_subject, result_subject

_SPAN = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> timedelta:
    """`30m`, `2h`, `90s`, `1d` → a timedelta; anything else raises ValueError naming the form."""
    match = _SPAN.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--since {text!r}: expected a positive number with s, m, h or d, e.g. 30m")
    return timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})


def build_question(
    text: str, services: list[str], since: timedelta, model: ModelAlias | None
) -> QuestionEvent:
    """The question as the CLI publishes it."""
    return QuestionEvent(
        request_id=f"cli-{uuid.uuid4().hex[:16]}",
        source="cli",
        text=text,
        services=services,
        window=TimeWindow.last(since),
        model=model,
    )


def format_result(result: RcaResult) -> str:
    """The answer as terminal text."""
    lines = [("✗ " if result.failed else "") + result.summary]
    for candidate in result.root_causes:
        lines.append(
            f"  #{candidate.rank} {candidate.service}  {candidate.confidence:.0%}  {candidate.hypothesis}"
        )
        lines.extend(f"      {e.kind}: {e.query}\n        → {e.excerpt}" for e in candidate.evidence)
    if result.next_actions:
        lines.append("Next steps (for a human):")
        lines.extend(f"  {i}. {action}" for i, action in enumerate(result.next_actions, 1))
    if result.evidence_gaps:
        lines.append("Evidence gaps: " + "; ".join(result.evidence_gaps))
    if result.degraded:
        lines.append(f"⚠ degraded: {result.degraded_reason}")
    lines.append(
        f"model {result.model} · {result.timings.get('total_ms', 0) / 1000:.1f}s · {result.request_id}"
    )
    return "\n".join(lines)


async def ask(client: Client, question: QuestionEvent, timeout_s: float, out: TextIO) -> RcaResult | None:
    """Publish `question`, print its progress, return its result (None after `timeout_s`)."""
    answered: asyncio.Future[RcaResult] = asyncio.get_running_loop().create_future()

    async def on_progress(msg: Msg) -> None:
        step = RcaProgress.model_validate_json(msg.data)
        detail = f" — {step.message}" if step.message else ""
        print(f"… {step.step} {step.status}{detail}", file=out, flush=True)

    async def on_result(msg: Msg) -> None:
        result = RcaResult.model_validate_json(msg.data)
        if result.request_id == question.request_id and not answered.done():
            answered.set_result(result)

    progress = await client.subscribe(progress_subject(question.request_id), cb=on_progress)
    results = await client.subscribe(result_subject("cli"), cb=on_result)
    try:
        await client.flush()
        await client.jetstream().publish(
            question_subject("cli"),
            question.model_dump_json().encode(),
            headers={"Nats-Msg-Id": question.request_id},
        )
        return await asyncio.wait_for(answered, timeout_s)
    except TimeoutError:
        return None
    finally:
        await progress.unsubscribe()
        await results.unsubscribe()
