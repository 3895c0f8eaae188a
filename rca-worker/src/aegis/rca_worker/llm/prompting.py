"""Prompt templates (files in `prompts/`, `$name` placeholders) and their rendering.

Templates are files so that a reviewer reads the prompt as the model does; `string.Template` keeps
the JSON braces in them literal. Rendering fails loudly on a missing placeholder.
"""

import json
from functools import cache
from importlib.resources import files
from string import Template

from aegis.rca_worker.llm.report import EXAMPLE
from aegis.shared.messages import message
from aegis.shared.settings import Locale


@cache
def template(name: str) -> Template:
    """The template `prompts/<name>.md`."""
    return Template(files("aegis.rca_worker.llm").joinpath("prompts", f"{name}.md").read_text("utf-8"))


def render(name: str, **values: object) -> str:
    """Template `name` with every placeholder filled; `KeyError` names one that is missing."""
    return template(name).substitute({k: str(v) for k, v in values.items()}).strip()


def system_prompt(locale: Locale, tools: bool, max_tool_calls: int) -> str:
    """The system message: the rules, the tool rules (or the text-only rule), the report's shape."""
    rules = render("tool_rules", max_tool_calls=max_tool_calls) if tools else render("text_rules")
    example = json.dumps(EXAMPLE, ensure_ascii=False)
    return render("system", language=message(locale, "answer.language"), tool_rules=rules, example=example)


def question_prompt(question: str, digest: str) -> str:
    """The user message: the question and the evidence digest."""
    return render("question", question=" ".join(question.split())[:1000] or "(none)", digest=digest)


def repair_prompt(problem: str) -> str:
    """Sent once when the report does not match its schema: what was wrong, and the shape again."""
    return render("repair", problem=problem[:300], example=json.dumps(EXAMPLE, ensure_ascii=False))


def finish_prompt() -> str:
    """Sent when the drill-down budget is spent."""
    return render("finish")
