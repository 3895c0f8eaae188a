"""Feishu's HTTP event callback (`FEISHU_EVENT_MODE=http`): `POST /feishu/receive`.

Authenticates (see `callback_auth`), answers the URL check, then hands message and card-click
events to the same `EventIntake` as the long connection. Status codes tell Feishu what to do:
401 for forged or stale requests (never handled), 503 before NATS is ready and 500 when NATS did
not take the question (Feishu re-delivers), 200 otherwise, all within Feishu's 3 s.
"""

import time
from typing import Any, TypeVar

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from aegis.gateway_feishu.callback_auth import (
    CallbackMalformed,
    CallbackRejected,
    CallbackSecrets,
    challenge_answer,
    open_callback,
)
from aegis.gateway_feishu.card_clicks import click_toast
from aegis.gateway_feishu.claim_clicks import is_claim_click
from aegis.gateway_feishu.events import CARD_ACTION, MESSAGE_RECEIVED, CardActionTriggered, MessageReceived
from aegis.gateway_feishu.intake import EventIntake
from aegis.gateway_feishu.publishing import PublishFailed
from aegis.gateway_feishu.service import Gateway
from aegis.gateway_feishu.settings import GatewaySettings

log = structlog.get_logger("aegis.gateway_feishu.http_callback")
CALLBACK_PATHS = ("/feishu/receive", "/webhook/event")
MAX_BODY_BYTES = 1024 * 1024
SUCCESS = {"msg": "success"}
M = TypeVar("M", bound=BaseModel)


def callback_router(settings: GatewaySettings, gateway: Gateway) -> APIRouter:
    """The callback route (and its alias) over `gateway`'s intake."""
    secrets = CallbackSecrets(
        verification_token=_secret(settings.feishu_verification_token),
        encrypt_key=_secret(settings.feishu_encrypt_key),
    )
    metrics = gateway.metrics
    router = APIRouter(tags=["feishu"])

    async def receive(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            metrics.rejected("malformed")
            return JSONResponse({"msg": "body too large"}, status_code=413)
        try:
            payload = open_callback(raw, request.headers, secrets, time.time())
        except CallbackRejected as error:
            metrics.rejected("unauthenticated")
            log.warning(
                "callback refused", reason=str(error), peer=request.client.host if request.client else None
            )
            return JSONResponse({"msg": "unauthorized"}, status_code=401)
        except CallbackMalformed as error:
            metrics.rejected("malformed")
            return JSONResponse({"msg": str(error)}, status_code=400)
        answer = challenge_answer(payload)
        if answer is not None:
            return JSONResponse(answer)
        intake = gateway.intake
        if intake is None:
            metrics.rejected("not_ready")
            return JSONResponse({"msg": "not ready"}, status_code=503)
        header = payload.get("header")
        event_type = header.get("event_type") if isinstance(header, dict) else None
        if event_type == MESSAGE_RECEIVED:
            return await _message(intake, payload)
        if event_type == CARD_ACTION:
            return await _card_click(intake, payload)
        return JSONResponse(SUCCESS)  # another subscribed event type: nothing for Aegis

    for path in CALLBACK_PATHS:
        router.add_api_route(path, receive, methods=["POST"], summary="Feishu event callback")
    return router


async def _message(intake: EventIntake, payload: dict[str, Any]) -> Response:
    received = _validated(MessageReceived, payload, intake)
    if received is None:
        return JSONResponse({"msg": "malformed event"}, status_code=400)
    question = intake.message_question(received)
    if question is not None:
        try:
            await intake.publish("message", received.header.event_id, question)
        except PublishFailed:
            return JSONResponse({"msg": "not accepted; please re-deliver"}, status_code=500)
    return JSONResponse(SUCCESS)


async def _card_click(intake: EventIntake, payload: dict[str, Any]) -> Response:
    click = _validated(CardActionTriggered, payload, intake)
    if click is not None and intake.claims is not None and is_claim_click(click):
        return JSONResponse(await intake.claims.answer(click))
    question = intake.card_question(click) if click is not None else None
    if click is None or question is None:
        return JSONResponse({})
    try:
        published = await intake.publish_click(click, question)
    except PublishFailed:
        return JSONResponse(click_toast("failed", intake.locale))
    return JSONResponse(click_toast("failed" if published == "refused" else "accepted", intake.locale))


def _validated(model: type[M], payload: dict[str, Any], intake: EventIntake) -> M | None:
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        intake.metrics.rejected("malformed")
        log.error("malformed event", problems=error.errors(include_input=False)[:5])
        return None


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
