"""The LLM's report: its schema, a parser for models that answer in text, and turning it into a result.

Models with tool calls submit the report as the arguments of `submit_report`; the others (and those
that answer in text anyway) write JSON, often inside a code fence, sometimes after a `<think>`
block. Values are normalised on the way in (confidence 80 → 0.8, "E1, E2" → a list); a report that
copies the prompt's example text back is recognised. What may become of it is `floor.py`'s job.
"""

import re
from typing import Any

from langchain_core.utils.json import parse_json_markdown
from pydantic import BaseModel, Field, ValidationError, field_validator

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


class InvalidReport(Exception):
    """The model's answer is not a usable report; the message says why."""


# The report's example as the prompt shows it: its strings are placeholders a weak model copies back.
EXAMPLE: dict[str, Any] = {
    "summary": "one or two sentences",
    "root_causes": [
        {
            "service": "a service from the evidence",
            "hypothesis": "why, from the evidence",
            "confidence": 0.8,
            "evidence": ["E1", "E3"],
        }
    ],
    "counter_evidence": [],
    "next_actions": ["what a human should check or do next"],
}


def _ids(value: Any) -> Any:
    """`"E1, E2"` or `"E1"` → `["E1", "E2"]`: small models write lists as strings."""
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,;]+", value) if part]
    return value


class ReportCandidate(BaseModel):
    """One root-cause candidate as the model states it."""

    service: str = Field(description="A service from the evidence.")
    hypothesis: str = Field(description="Why this service may be where it starts, from the evidence.")
    confidence: float = Field(ge=0.0, le=1.0, description="0 to 1.")
    evidence: list[str] = Field(
        default_factory=list, description="Ids of this service's own evidence from the digest, e.g. E1."
    )

    @field_validator("confidence", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Any:
        """80 or "80%" means 0.8: models mix percentages and fractions."""
        if isinstance(value, str):
            value = value.strip().rstrip("%")
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value
        return number / 100 if 1 < number <= 100 else number

    @field_validator("evidence", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _ids(value)


class Report(BaseModel):
    """The report the model submits."""

    summary: str = Field(description="One or two sentences for the on-call engineer.")
    root_causes: list[ReportCandidate] = Field(default_factory=list, description="1 to 3, most likely first.")
    counter_evidence: list[str] = Field(
        default_factory=list,
        description="Only when you put another service before the ranking's first: ids of the evidence "
        "showing that the ranking's first service is not where it starts.",
    )
    next_actions: list[str] = Field(
        default_factory=list, description="What a human should check or do next (you cannot act)."
    )

    @field_validator("counter_evidence", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _ids(value)


def _placeholders() -> set[str]:
    """Every string of the example and of the schema's descriptions, normalised."""
    found = {_norm(EXAMPLE["summary"]), *(_norm(a) for a in EXAMPLE["next_actions"])}
    found |= {_norm(v) for v in EXAMPLE["root_causes"][0].values() if isinstance(v, str)}
    for model in (Report, ReportCandidate):
        found |= {_norm(f.description or "") for f in model.model_fields.values()}
    return found - {""}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def copied_placeholders(report: Report) -> list[str]:
    """The fields of `report` that are the prompt's example or schema text copied back verbatim."""
    placeholders = _placeholders()
    fields = [("summary", report.summary), *(("next action", a) for a in report.next_actions)]
    for candidate in report.root_causes:
        fields += [("service", candidate.service), ("hypothesis", candidate.hypothesis)]
    return [f"{name} {text[:60]!r}" for name, text in fields if _norm(text) in placeholders]


def strip_think(text: str) -> str:
    """`text` without `<think>…</think>` blocks (and without an unterminated one's opening)."""
    text = _THINK.sub("", text)
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>") :]
    return text.strip()


def _json_object(text: str) -> Any:
    """The JSON in `text`, by langchain's parser (a ```json fence, raw newlines in strings, a cut-off
    end), else the outermost braces of `text` (an object between sentences) by the same parser."""
    candidates = [text]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            found = parse_json_markdown(candidate)
        except ValueError:
            continue
        if found is not None:
            return found
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
