"""Parsing a webhook body into `AlertmanagerWebhook`, and saying precisely what is wrong with it.

Raw bytes go straight to pydantic's JSON parser (faster than a FastAPI body parameter, and it lets
the answer distinguish "not JSON" (400) from "JSON, but not an Alertmanager v4 webhook" (422)).
Field paths use Alertmanager's own camelCase names, e.g. `alerts.0.startsAt`, because that is what
the person reading the error sees in their payload.
"""

import json
from typing import Any

from pydantic import ValidationError

from aegis.alert_ingest.rejections import Rejection
from aegis.shared.alerts import AlertmanagerWebhook

# A webhook with thousands of bad alerts should not produce a megabyte of error report.
MAX_REPORTED_ERRORS = 20
ROOT_FIELD = "(body)"


def parse_webhook(body: bytes) -> AlertmanagerWebhook:
    """The validated webhook, or a `Rejection`: 400 for malformed JSON, 422 naming each bad field."""
    try:
        return AlertmanagerWebhook.model_validate_json(body)
    except ValidationError as error:
        raise rejection_for(error) from None


def rejection_for(error: ValidationError) -> Rejection:
    """The 400 or 422 answer describing `error` (pydantic reports paths by alias: the camelCase)."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    for problem in problems:
        if problem["type"] == "json_invalid":
            what = problem["msg"].removeprefix("Invalid JSON: ")
            return Rejection(400, "malformed_json", f"malformed JSON: {what}")
    errors = [
        {"field": ".".join(str(part) for part in problem["loc"]) or ROOT_FIELD, "problem": problem["msg"]}
        for problem in problems[:MAX_REPORTED_ERRORS]
    ]
    if len(problems) > MAX_REPORTED_ERRORS:
        hidden = len(problems) - MAX_REPORTED_ERRORS
        errors.append({"field": "…", "problem": f"{hidden} more errors not shown"})
    return Rejection(422, "invalid_payload", "invalid Alertmanager webhook", errors=errors)


def log_context(body: bytes) -> dict[str, str]:
    """groupKey and receiver of a rejected body when they can be read, to tell whose webhook failed.

    Only called on the error path, so parsing the body a second time costs nothing that matters.
    """
    try:
        document: Any = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    context = {}
    for key, name in (("groupKey", "group_key"), ("receiver", "receiver")):
        value = document.get(key)
        if isinstance(value, str):
            context[name] = value[:200]
    return context
