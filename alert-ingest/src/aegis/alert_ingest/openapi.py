"""The OpenAPI description, including the webhook that is served as a plain Starlette route.

FastAPI documents only its own path operations; the webhook bypasses them for speed, so its
request body (Alertmanager's v4 payload) and answers are added here from the same models.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aegis.alert_ingest.webhook import WEBHOOK_PATH
from aegis.shared.alerts import AlertmanagerWebhook


def document_webhook(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI schema with `POST /alertmanager/webhook` described (cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version="0.1.0", routes=app.routes, description=__doc__)
    body = AlertmanagerWebhook.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(body.pop("$defs", {}))
    components["AlertmanagerWebhook"] = body
    reply: dict[str, Any] = {"content": {"application/json": {}}}
    schema["paths"][WEBHOOK_PATH] = {
        "post": {
            "tags": ["alerts"],
            "summary": "Alertmanager webhook (version 4): publish the alert group onto NATS",
            "description": "200 only after JetStream stored the event; a retried body is deduplicated.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/AlertmanagerWebhook"}}
                },
            },
            "responses": {
                "200": {"description": "accepted: `event_id`, `duplicate`, `alerts`", **reply},
                "400": {"description": "malformed JSON", **reply},
                "401": {"description": "missing or wrong bearer token", **reply},
                "413": {"description": "body over WEBHOOK_MAX_BODY_BYTES", **reply},
                "415": {"description": "Content-Type is not JSON", **reply},
                "422": {"description": "schema errors; `errors[].field` names each", **reply},
                "503": {"description": "NATS cannot take it now; Alertmanager retries", **reply},
            },
        }
    }
    app.openapi_schema = schema
    return schema
