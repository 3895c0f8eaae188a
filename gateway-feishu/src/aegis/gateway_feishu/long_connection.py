"""lark-oapi's long-connection client, run in a thread of its own, feeding the event intake.

`lark_oapi.ws.Client` keeps a module-global event loop grabbed at import, blocks forever in
`start()` and has no `stop()`. So it runs in a dedicated thread whose fresh loop is installed as
that module loop, and it is stopped by stopping the loop and closing its socket. Its event
handler runs synchronously on that loop and must answer within Feishu's 3 s: it validates and
decides in this thread, hands the publish to the service's loop and waits for JetStream's ack
(bounded by GATEWAY_PUBLISH_TIMEOUT_S). Raising makes lark answer the frame with code 500, and
Feishu re-delivers: nothing is acknowledged that NATS did not take. Only one long connection can
run per process (the module loop is global); Feishu spreads events over an app's connections,
so replicas scale it.
"""

import asyncio
import concurrent.futures
import contextlib
import threading
from typing import Any

import structlog
from pydantic import ValidationError

from aegis.gateway_feishu.card_clicks import click_toast
from aegis.gateway_feishu.claim_clicks import is_claim_click
from aegis.gateway_feishu.events import CardActionTriggered, MessageReceived
from aegis.gateway_feishu.intake import EventIntake
from aegis.gateway_feishu.lark_lean import load_lean_events
from aegis.gateway_feishu.publishing import PublishFailed

load_lean_events()

import lark_oapi.ws.client as lark_ws  # noqa: E402 - after load_lean_events(), which keeps the SDK lean
from lark_oapi.core.enum import LogLevel  # noqa: E402
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse  # noqa: E402
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler  # noqa: E402

log = structlog.get_logger("aegis.gateway_feishu.long_connection")
_ONE_PER_PROCESS = threading.Lock()


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
        self._thread = threading.Thread(target=self._run, name="lark-long-connection", daemon=True)
        self._thread.start()

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
            if not self._stopping.is_set():
                self.failure = f"{type(error).__name__}: {error}"
                log.error("long connection failed for good", error=self.failure)
        finally:
            self._close(loop)

    def _build_client(self) -> Any:
        handler = (
            EventDispatcherHandler.builder("", "")
            .register_p2_im_message_receive_v1(self._on_message)
            .register_p2_card_action_trigger(self._on_card_click)
            .build()
        )
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
            self._await_on_service_loop(self._intake.publish("message", received.header.event_id, question))

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
            self._await_on_service_loop(self._intake.publish("card_click", click.header.event_id, question))
        except PublishFailed:
            # Card callbacks are answered, not re-delivered: tell the clicker to try again.
            return P2CardActionTriggerResponse(click_toast("failed", self._intake.locale))
        return P2CardActionTriggerResponse(click_toast("accepted", self._intake.locale))

    def _malformed(self, what: str, error: ValidationError) -> None:
        # Acknowledged, not failed: a re-delivery of the same bytes could never succeed.
        self._intake.metrics.rejected("malformed")
        log.error(f"malformed {what} event dropped", problems=error.errors(include_input=False)[:5])

    def _await_on_service_loop(self, publishing: Any) -> Any:
        if self._service_loop is None or self._service_loop.is_closed():
            publishing.close()
            raise PublishFailed("the service is shutting down")
        future = asyncio.run_coroutine_threadsafe(publishing, self._service_loop)
        try:
            # A little beyond the publisher's own bound, which normally answers first.
            return future.result(timeout=self._publish_timeout_s + 0.25)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise PublishFailed("no answer from the service loop in time") from None
