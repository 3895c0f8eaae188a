"""`POST /api/ops/analyze` and `/api/ops/analyze/stream`: ask the rca-worker over HTTP.

The sync endpoint answers with the `RcaResult` (504 with the request id when the worker takes
longer than `ANALYZE_TIMEOUT_S`); the stream endpoint sends server-sent events: `progress` per
analysis step, then one `result` (or one `error`). Both need the webhook's bearer token when
`AEGIS_WEBHOOK_TOKEN` is set. A stream client that goes away before its result cancels the
analysis (`aegis.question.cancel.<request_id>`, stored, so a worker that has not started it yet
drops it too): nobody would read the answer, and the worker's slot is free for the next question.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from nats.aio.client import Client
from starlette.types import Receive

from aegis.alert_ingest.answers import AnswerWaiter, progress_of
from aegis.alert_ingest.auth import BearerTokenCheck
from aegis.alert_ingest.ops_request import OpsRequest, WindowTooLong
from aegis.alert_ingest.publisher import AlertPublisher, PublishUnavailable, refusal
from aegis.alert_ingest.rejections import Rejection
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.publishing import Accepted, RetryPublish
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import RcaResult

KEEPALIVE_S = 15.0
Ask = Callable[[QuestionEvent], Awaitable[None]]
log = structlog.get_logger("aegis.alert_ingest.analysis")

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong bearer token (when AEGIS_WEBHOOK_TOKEN is set)"},
    422: {"description": "the body does not match OpsRequest; `detail` names each bad field"},
    503: {"description": "NATS cannot take the question now; retry"},
}


def analysis_router(settings: IngestSettings, publisher: AlertPublisher, waiter: AnswerWaiter) -> APIRouter:
    """The analysis API bound to one app's publisher."""
    token_check = BearerTokenCheck(settings.aegis_webhook_token)
    timeout = settings.analyze_timeout_s

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        try:
            token_check.check(authorization)
        except Rejection as rejection:
            raise HTTPException(401, rejection.detail, headers=rejection.headers) from None

    router = APIRouter(prefix="/api/ops", tags=["analysis"], dependencies=[Depends(authorised)])

    def question_of(body: OpsRequest) -> QuestionEvent:
        try:
            return body.to_question(settings.max_lookback)
        except WindowTooLong as error:
            problem = {"loc": ["body", "start"], "msg": str(error), "type": "window_too_long"}
            raise HTTPException(422, [problem]) from None

    async def ask(question: QuestionEvent) -> None:
        await waiter.attach(_connection(publisher))
        outcome = await publisher.publish_question(question)
        if not isinstance(outcome, Accepted):
            raise _http_error(refusal(outcome, "question"))

    @router.post(
        "/analyze",
        response_model=RcaResult,
        summary="Analyse and answer with the RcaResult",
        responses={
            **_ERRORS,
            504: {"description": "no answer within ANALYZE_TIMEOUT_S; `request_id` says which"},
        },
    )
    async def analyze(body: OpsRequest) -> RcaResult:
        question = question_of(body)
        async with waiter.expecting(question.request_id) as answered:
            await ask(question)
            try:
                return await asyncio.wait_for(answered, timeout)
            except TimeoutError:
                log.warning("analysis timed out", request_id=question.request_id, timeout_s=timeout)
                raise HTTPException(
                    504, {"detail": f"no answer within {timeout:g} s", "request_id": question.request_id}
                ) from None

    @router.post(
        "/analyze/stream",
        summary="Analyse and stream progress, then the result, as server-sent events",
        response_class=StreamingResponse,
        responses={
            **_ERRORS,
            200: {"content": {"text/event-stream": {}}, "description": "progress… then result"},
        },
    )
    async def analyze_stream(body: OpsRequest, request: Request) -> StreamingResponse:
        question = question_of(body)
        asking = Asking(_connection(publisher), waiter, ask, publisher.cancel_later, timeout)
        return StreamingResponse(
            _events(asking, question, request.receive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _connection(publisher: AlertPublisher) -> Client:
    try:
        return publisher.connection()
    except PublishUnavailable as error:
        raise _http_error(refusal(RetryPublish(str(error)), "question")) from None


def _http_error(rejection: Rejection) -> HTTPException:
    return HTTPException(rejection.status_code, rejection.detail, headers=rejection.headers)


def sse(event: str, data: str) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {data}\n\n".encode()


@dataclass(frozen=True)
class Asking:
    """What one streamed analysis needs: where to ask, hear the answer, and cancel it."""

    client: Client
    waiter: AnswerWaiter
    ask: Ask
    cancel: Callable[[str], None]
    limit_s: float


async def _client_gone(receive: Receive) -> None:
    """Returns when the client disconnects (the body was read: the next message is the disconnect)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _events(asking: Asking, question: QuestionEvent, receive: Receive) -> AsyncIterator[bytes]:
    """progress… then result, or one error; keep-alive comments while the worker is quiet.

    A client that goes away after its question was accepted (noticed at once, or when a write
    fails) cancels the analysis: nobody would read it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + asking.limit_s
    request_id = question.request_id
    gone = asyncio.ensure_future(_client_gone(receive))
    accepted = finished = False
    try:
        async with (
            asking.waiter.expecting(request_id) as answered,
            progress_of(asking.client, request_id) as steps,
        ):
            try:
                await asking.ask(question)
            except HTTPException as error:
                finished = True
                yield sse("error", json.dumps({"detail": error.detail, "request_id": request_id}))
                return
            accepted = True
            yield sse("accepted", json.dumps({"request_id": request_id}))
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    finished = True
                    detail = {"detail": f"no answer within {asking.limit_s:g} s", "request_id": request_id}
                    yield sse("error", json.dumps(detail))
                    return
                next_step = asyncio.ensure_future(steps.get())
                pending: set[asyncio.Future[Any]] = {next_step, answered, gone}
                done, _ = await asyncio.wait(
                    pending, timeout=min(remaining, KEEPALIVE_S), return_when=asyncio.FIRST_COMPLETED
                )
                if next_step in done:
                    yield sse("progress", next_step.result().model_dump_json())
                else:
                    next_step.cancel()
                if answered in done:
                    finished = True
                    while not steps.empty():
                        yield sse("progress", steps.get_nowait().model_dump_json())
                    yield sse("result", answered.result().model_dump_json())
                    return
                if gone in done:
                    return
                if not done:
                    yield b": keep-alive\n\n"
    finally:
        gone.cancel()
        if accepted and not finished:
            log.info("stream client gone before the answer; cancelling the analysis", request_id=request_id)
            asking.cancel(request_id)
