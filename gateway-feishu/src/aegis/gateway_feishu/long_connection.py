"""lark-oapi's long-connection client, run in a thread of its own, feeding the event intake.

`lark_oapi.ws.Client` keeps a module-global event loop grabbed at import, blocks forever in
`start()` and has no `stop()`. So it runs in a dedicated thread whose fresh loop is installed as
that module loop, and it is stopped by stopping the loop and closing its socket. Its event
handler runs synchronously on that loop, which also writes every ACK: it validates and decides in
this thread and hands the publish to the service's loop (`handoff`), so the ACK is immediate
whatever NATS takes. Raising (NATS disconnected, too much outstanding) makes lark answer 500 and
Feishu re-delivers. Event types the app is subscribed to but Aegis does not handle are answered
200, not lark's 500 (Feishu would keep re-pushing them). When lark gives up reconnecting (a fatal
endpoint code such as the 50-connection limit) it stops for good without a word: that is caught
here and reported as the gateway's `failure`, so `/healthz` fails and the pod is restarted.
Only one long connection can run per process (the module loop is global); Feishu spreads events
over an app's connections, so replicas scale it.
"""

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

import structlog
from pydantic import ValidationError

from aegis.gateway_feishu.card_clicks import click_toast
from aegis.gateway_feishu.claim_clicks import is_claim_click
from aegis.gateway_feishu.events import CARD_ACTION, MESSAGE_RECEIVED, CardActionTriggered, MessageReceived
from aegis.gateway_feishu.handoff import Attempt, PublishHandoff
from aegis.gateway_feishu.intake import EventIntake
from aegis.gateway_feishu.lark_lean import load_lean_events
from aegis.gateway_feishu.metrics import EventKind
from aegis.gateway_feishu.publishing import PublishFailed

load_lean_events()

import lark_oapi.ws.client as lark_ws  # noqa: E402 - after load_lean_events(), which keeps the SDK lean
from lark_oapi.core.enum import LogLevel  # noqa: E402
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse  # noqa: E402
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler  # noqa: E402

log = structlog.get_logger("aegis.gateway_feishu.long_connection")
_ONE_PER_PROCESS = threading.Lock()
HANDLED = frozenset({MESSAGE_RECEIVED, CARD_ACTION})


def event_type_of(payload: bytes) -> str | None:
    """The type of a long-connection event payload (schema 2.0 `header.event_type`, 1.0 `event.type`)."""
    try:
        parsed = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    header, event = parsed.get("header"), parsed.get("event")
    kind = header.get("event_type") if isinstance(header, dict) else None
    if kind is None and isinstance(event, dict):
        kind = event.get("type")
    return kind if isinstance(kind, str) else None


class AnswerEveryEvent:
    """lark's dispatcher, except that event types without a handler are acknowledged, not failed.

    lark-oapi's `ws.Client` calls only `_do_without_validation` on its event handler.
    """

    def __init__(self, dispatcher: Any, on_unhandled: Callable[[str | None], None]) -> None:
        self._dispatcher = dispatcher
        self._on_unhandled = on_unhandled

    def _do_without_validation(self, payload: bytes) -> Any:
        kind = event_type_of(payload)
        if kind not in HANDLED:
            self._on_unhandled(kind)
            return None
        return self._dispatcher._do_without_validation(payload)


class LongConnection:
    """`start()` connects in the background; `stop()` closes the connection and ends the thread."""

    def __init__(
        self, app_id: str, app_secret: str, base_url: str, intake: EventIntake, publish_timeout_s: float
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._base_url = base_url
        self._intake = intake
        self._publish_timeout_s = publish_timeout_s
        self._service_loop: asyncio.AbstractEventLoop | None = None
        self._handoff: PublishHandoff | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.failure: str | None = None

    @property
    def connected(self) -> bool:
        # lark exposes no state; its socket attribute is None whenever it is not connected.
        return self._client is not None and getattr(self._client, "_conn", None) is not None

    def start(self) -> None:
        """Start the client's thread; events are published on the calling (running) loop."""
        if not _ONE_PER_PROCESS.acquire(blocking=False):
            raise RuntimeError("a lark-oapi long connection already runs in this process")
        self._service_loop = asyncio.get_running_loop()
        self._handoff = PublishHandoff(self._service_loop, lambda: self._intake.publisher.connected)
        self._thread = threading.Thread(target=self._run, name="lark-long-connection", daemon=True)
        self._thread.start()

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait (on the service loop) for acknowledged events whose publish is still under way."""
        if self._handoff is not None:
            await self._handoff.drain(timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the connection (Feishu then sends events to the app's other connections)."""
        self._stopping.set()
        if self._client is not None:
            self._client._auto_reconnect = False
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("long connection thread did not stop in time", timeout_s=timeout_s)
                return
            self._thread = None
            _ONE_PER_PROCESS.release()

    # -- the client's thread -------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        lark_ws.loop = loop  # the module-global loop every Client method schedules on
        self._loop = loop
        try:
            self._client = self._build_client()
            if not self._stopping.is_set():
                self._client.start()
        except Exception as error:  # noqa: BLE001 - lark raises bare Exceptions; the thread must end cleanly
            if not self._stopping.is_set() and self.failure is None:
                self.failure = f"{type(error).__name__}: {error}"
                log.error("long connection failed for good", error=self.failure)
        finally:
            self._close(loop)

    def _build_client(self) -> Any:
        dispatcher = (
            EventDispatcherHandler.builder("", "")
            .register_p2_im_message_receive_v1(self._on_message)
            .register_p2_card_action_trigger(self._on_card_click)
            .build()
        )
        handler = AnswerEveryEvent(dispatcher, self._unhandled)
        # Built here, not in start(): its constructor schedules a cache task on the current loop.
        client = lark_ws.Client(
            self._app_id,
            self._app_secret,
            log_level=LogLevel.WARNING,
            event_handler=handler,
            domain=self._base_url,
        )
        client.on_reconnecting = self._on_reconnecting
        client.on_reconnected = self._on_reconnected
        reconnect = client._reconnect

        async def reconnect_or_fail() -> None:
            # lark runs this in its receive task; when it raises (a fatal endpoint code, or the
            # ReconnectCount spent) lark logs it and waits forever, connected to nothing.
            try:
                await reconnect()
            except Exception as error:
                if not self._stopping.is_set():
                    self.failure = (
                        f"the long connection gave up reconnecting: {type(error).__name__}: {error}"
                    )
                    log.error("long connection failed for good", error=self.failure)
                    asyncio.get_running_loop().stop()
                raise

        client._reconnect = reconnect_or_fail
        return client

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            # asyncio.wait, not gather: lark's ping loop sleeps in a `finally` and would hold gather.
            loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        conn = getattr(self._client, "_conn", None)
        if conn is not None:
            try:
                loop.run_until_complete(asyncio.wait_for(conn.close(), 2.0))
            except Exception as error:  # noqa: BLE001 - already gone: nothing left to close
                log.debug("closing the long connection", error=str(error))
            self._client._conn = None
        loop.close()

    def _on_reconnecting(self) -> None:
        self._intake.metrics.reconnects.inc()
        log.warning("long connection lost; lark-oapi is reconnecting")

    def _on_reconnected(self) -> None:
        log.info("long connection re-established")

    # -- lark's event handlers (on the client's loop, synchronously) -----------------------------

    def _on_message(self, data: Any) -> None:
        try:
            received = MessageReceived.model_validate(data)
        except ValidationError as error:
            self._malformed("message", error)
            return
        question = self._intake.message_question(received)
        if question is not None:
            event_id = received.header.event_id
            self._submit(
                "message", event_id, lambda t: self._intake.publish("message", event_id, question, t)
            )

    def _on_card_click(self, data: Any) -> Any:
        try:
            click = CardActionTriggered.model_validate(data)
        except ValidationError as error:
            self._malformed("card click", error)
            return None
        if self._intake.claims is not None and is_claim_click(click):
            try:
                return P2CardActionTriggerResponse(
                    self._await_on_service_loop(self._intake.claims.answer(click))
                )
            except PublishFailed:
                return P2CardActionTriggerResponse(click_toast("failed", self._intake.locale))
        question = self._intake.card_question(click)
        if question is None:
            return None
        try:
            self._submit(
                "card_click", click.header.event_id, lambda t: self._intake.publish_click(click, question, t)
            )
        except PublishFailed:
            # Card callbacks are answered, not re-delivered: tell the clicker to try again.
            return P2CardActionTriggerResponse(click_toast("failed", self._intake.locale))
        return P2CardActionTriggerResponse(click_toast("accepted", self._intake.locale))

    def _submit(self, kind: EventKind, event_id: str, attempt: Attempt) -> None:
        if self._handoff is None:
            raise PublishFailed("the long connection is not started")
        try:
            if not self._handoff.submit(event_id, attempt):
                self._intake.metrics.question(kind, "duplicate")
        except PublishFailed as error:
            self._intake.metrics.question(kind, "failed")
            log.warning("event not taken; Feishu will re-deliver", event_id=event_id, error=str(error))
            raise

    def _unhandled(self, kind: str | None) -> None:
        self._intake.metrics.ignored("not_handled")
        log.debug("event type not handled by Aegis acknowledged", event_type=kind)

    def _await_on_service_loop(self, answering: Any) -> Any:
        """Run `answering` on the service's loop and wait: only for a claim, whose callback answer
        carries the marked card (one KV create, well inside Feishu's 3 s)."""
        if self._service_loop is None or self._service_loop.is_closed():
            answering.close()
            raise PublishFailed("the service is shutting down")
        future = asyncio.run_coroutine_threadsafe(answering, self._service_loop)
        try:
            return future.result(timeout=self._publish_timeout_s + 0.25)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise PublishFailed("no answer from the service loop in time") from None

    def _malformed(self, what: str, error: ValidationError) -> None:
        # Acknowledged, not failed: a re-delivery of the same bytes could never succeed.
        self._intake.metrics.rejected("malformed")
        log.error(f"malformed {what} event dropped", problems=error.errors(include_input=False)[:5])
