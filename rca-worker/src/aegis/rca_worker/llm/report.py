"""The LLM's report: its schema, a parser for models that answer in text, and turning it into a result.

Models with tool calls submit the report as the arguments of `submit_report`; the others (and those
that answer in text anyway) write JSON, often inside a code fence, sometimes after a `<think>`
block. Either way the report must name services that are in the evidence and cite evidence by the
digest's ids; what it cites that does not exist is dropped and counted.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from aegis.shared.questions import ModelAlias
from aegis.shared.rca import Evidence, RcaResult, RootCauseCandidate

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class InvalidReport(Exception):
    """The model's answer is not a usable report; the message says why."""


class ReportCandidate(BaseModel):
    """One root-cause candidate as the model states it."""

    service: str = Field(description="A service from the evidence.")
    hypothesis: str = Field(description="Why this service may be where it starts, from the evidence.")
    confidence: float = Field(ge=0.0, le=1.0, description="0 to 1.")
    evidence: list[str] = Field(default_factory=list, description="Evidence ids from the digest, e.g. E1.")


class Report(BaseModel):
    """The report the model submits."""

    summary: str = Field(description="One or two sentences for the on-call engineer.")
    root_causes: list[ReportCandidate] = Field(default_factory=list, description="1 to 3, most likely first.")
    next_actions: list[str] = Field(
        default_factory=list, description="What a human should check or do next (you cannot act)."
    )


def strip_think(text: str) -> str:
    """`text` without `<think>…</think>` blocks (and without an unterminated one's opening)."""
    text = _THINK.sub("", text)
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>") :]
    return text.strip()


def _json_object(text: str) -> Any:
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise InvalidReport(f"no JSON object in the answer: {text[:120]!r}")


def parse_report(content: Any) -> Report:
    """The report in a text answer (or tool-call arguments); `InvalidReport` when there is none."""
    if isinstance(content, dict):
        payload = content
    else:
        text = content if isinstance(content, str) else _text_of(content)
        payload = _json_object(strip_think(text))
    try:
        return Report.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
        raise InvalidReport(f"the report does not match its schema: {problems}") from None


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


@dataclass
class Conversion:
    """The result drafted from a report, and what had to be dropped on the way."""

    result: RcaResult
    dropped: list[str] = field(default_factory=list)


def report_to_result(
    report: Report,
    draft: RcaResult,
    catalogue: dict[str, Evidence],
    services: set[str],
    model: ModelAlias,
) -> Conversion:
    """The report as an `RcaResult` on top of the deterministic `draft`; invented ids and services dropped."""
    dropped: list[str] = []
    candidates: list[RootCauseCandidate] = []
    for stated in report.root_causes:
        if stated.service not in services:
            dropped.append(f"candidate {stated.service!r} is not a service in the evidence")
            continue
        if any(c.service == stated.service for c in candidates):
            continue
        known = [catalogue[ident.strip()] for ident in stated.evidence if ident.strip() in catalogue]
        dropped.extend(
            f"evidence {i!r} does not exist" for i in stated.evidence if i.strip() not in catalogue
        )
        if not known:  # the deterministic evidence of the same service still supports it
            known = next((c.evidence for c in draft.root_causes if c.service == stated.service), [])
        candidates.append(
            RootCauseCandidate(
                rank=len(candidates) + 1,
                service=stated.service,
                hypothesis=stated.hypothesis.strip(),
                confidence=round(stated.confidence, 2),
                evidence=known,
            )
        )
        if len(candidates) == 3:
            break
    if draft.root_causes and not candidates:
        raise InvalidReport("the report names no service that is in the evidence")
    if not report.summary.strip():
        raise InvalidReport("the report has an empty summary")
    result = draft.model_copy(
        update={
            "summary": report.summary.strip(),
            "root_causes": candidates,
            "next_actions": [a.strip() for a in report.next_actions if a.strip()] or draft.next_actions,
            "model": model,
        }
    )
    return Conversion(result, dropped)
