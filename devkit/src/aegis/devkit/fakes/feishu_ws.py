"""A loopback fake of Feishu's long-connection server that the real lark-oapi `ws.Client` talks to.

It honours what FEISHU.md lists: `POST /callback/ws/endpoint` with the app's credentials answers
a `ws://` URL carrying `device_id` and an integer `service_id`, plus all four ClientConfig fields
(small reconnect and ping intervals by default, so tests are fast); the websocket speaks protobuf
`Frame`s (`lark_oapi.ws.pb.pbbp2_pb2`): pings are answered with pongs, events go out as data
frames with the required headers (`type`, `message_id`, `trace_id`, `sum`, `seq`), optionally in
fragments, and the client's ACK frames are recorded with their `{"code": ...}` payload and
`biz_rt`. Tests can drop the connection, refuse the endpoint call (`refuse_endpoint`: code 1 is
retried by lark-oapi; any other, such as the 50-connection limit, is fatal and lark stops for
good), send any event type (including ones the app is subscribed to but Aegis does not handle),
and `await send_event(...)` for the ACK. A slow NATS is modelled by `aegis.devkit.harness.slow_link`.
Other paths are forwarded to `upstream` (the fake open platform), so that one origin
serves the SDK's `domain=` as the real one does. Runs in its own thread and event loop, like
FakeFeishu, because lark-oapi fetches the endpoint with a blocking call.
"""

import asyncio
import base64
import itertools
import json
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response

from aegis.devkit.harness.threaded_server import ServedFake
from aegis.gateway_feishu.lark_lean import load_lean_events

load_lean_events()  # the pb module's package imports lark's client; keep the test process lean

from lark_oapi.ws.pb.pbbp2_pb2 import Frame  # noqa: E402

ENDPOINT_PATH = "/callback/ws/endpoint"
WS_PATH = "/callback/ws/connect"
CONTROL, DATA = 0, 1


@dataclass(frozen=True)
class ClientConfig:
    """What the endpoint call tells the client (seconds); Feishu's defaults are 120/30/120."""

    reconnect_count: int = -1
    reconnect_interval: int = 1
    reconnect_nonce: int = 0
    ping_interval: int = 30

    def as_json(self) -> dict[str, int]:
        return {
            "ReconnectCount": self.reconnect_count,
            "ReconnectInterval": self.reconnect_interval,
            "ReconnectNonce": self.reconnect_nonce,
            "PingInterval": self.ping_interval,
        }


@dataclass(frozen=True)
class Ack:
    """One ACK frame the client sent back for an event."""

    message_id: str
    code: int
    biz_rt_ms: int | None
    data: dict[str, Any] | None
    latency_s: float


@dataclass
class _Pending:
    sent_at: float
    future: "asyncio.Future[Ack]"


@dataclass
class _Connection:
    websocket: WebSocket
    service_id: int
    device_id: str
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeLongConnection(ServedFake):
    """The fake server. Use as a context manager; `base_url` goes to `FEISHU_BASE_URL`."""

    server_name = "fake-feishu-ws"

    def __init__(
        self,
        app_id: str = "cli_test",
        app_secret: str = "secret",
        upstream: str | None = None,
        client_config: ClientConfig | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.upstream = upstream
        self.client_config = client_config or ClientConfig()
        super().__init__()
        self.endpoint_calls: list[dict[str, Any]] = []
        self.acks: list[Ack] = []
        self.pings = 0
        self.connections_opened = 0
        self._refuse_endpoint: list[int] = []
        self._current: _Connection | None = None
        self._connected = threading.Event()
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._service_ids = itertools.count(7001)
        self._lock = threading.Lock()

    # -- test controls (call from any thread or loop) -------------------------------------------

    async def send_event(
        self, payload: dict[str, Any], timeout: float = 5.0, fragments: int = 1, frame_type: str = "event"
    ) -> Ack:
        """Send `payload` as an event frame (split into `fragments`) and return the client's ACK."""
        ack: Ack = await self._on_server_loop(self._send_event(payload, timeout, fragments, frame_type))
        return ack

    async def drop(self) -> None:
        """Close the current connection from the server side, as a network failure or deploy would."""
        await self._on_server_loop(self._drop())

    def refuse_endpoint(self, *codes: int) -> None:
        """Answer the next endpoint calls with these non-zero codes (1: busy, retried; others fatal)."""
        with self._lock:
            self._refuse_endpoint.extend(codes)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Block until a client holds a connection."""
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def _on_server_loop(self, coroutine: Any) -> Any:
        loop = self._server.loop if self._server is not None else None
        assert loop is not None, "start() the fake first"
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, loop)
        return await asyncio.wrap_future(future)

    # -- the protocol (on the server's loop) -----------------------------------------------------

    async def _send_event(
        self, payload: dict[str, Any], timeout: float, fragments: int, frame_type: str
    ) -> Ack:
        deadline = time.monotonic() + timeout
        while self._current is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no client connected to the fake long-connection server")
            await asyncio.sleep(0.01)
        connection = self._current
        number = next(self._ids)
        message_id = f"msg_{number:08d}"
        body = json.dumps(payload, ensure_ascii=False).encode()
        size = -(-len(body) // fragments)
        pending = _Pending(time.perf_counter(), asyncio.get_running_loop().create_future())
        self._pending[message_id] = pending
        for seq in range(fragments):
            frame = _frame(
                connection.service_id,
                DATA,
                {
                    "type": frame_type,
                    "message_id": message_id,
                    "trace_id": f"trace_{number:08d}",
                    "sum": str(fragments),
                    "seq": str(seq),
                },
                body[seq * size : (seq + 1) * size],
                seq_id=number,
            )
            await connection.websocket.send_bytes(frame.SerializeToString())
        try:
            return await asyncio.wait_for(pending.future, max(0.01, deadline - time.monotonic()))
        finally:
            self._pending.pop(message_id, None)

    async def _drop(self) -> None:
        connection = self._current
        if connection is not None:
            self._current = None
            self._connected.clear()
            await connection.websocket.close(code=1011)
            connection.closed.set()

    def _endpoint_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.endpoint_calls.append(body)
            refused = self._refuse_endpoint.pop(0) if self._refuse_endpoint else None
        if refused is not None:
            return {"code": refused, "msg": "refused by the fake"}
        if body.get("AppID") != self.app_id or body.get("AppSecret") != self.app_secret:
            return {"code": 10014, "msg": "app secret invalid"}
        url = f"ws://127.0.0.1:{self.port}{WS_PATH}?device_id=dev_{next(self._ids)}&service_id={next(self._service_ids)}"
        return {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": self.client_config.as_json()}}

    async def _serve_connection(self, websocket: WebSocket) -> None:
        try:
            service_id = int(websocket.query_params["service_id"])
            device_id = websocket.query_params["device_id"]
        except (KeyError, ValueError):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        if self._current is not None:
            await self._drop()
        connection = _Connection(websocket, service_id, device_id)
        self._current = connection
        self.connections_opened += 1
        self._connected.set()
        try:
            while not connection.closed.is_set():
                raw = await websocket.receive_bytes()
                await self._on_client_frame(connection, raw)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if self._current is connection:
                self._current = None
                self._connected.clear()

    async def _on_client_frame(self, connection: _Connection, raw: bytes) -> None:
        frame = Frame()
        frame.ParseFromString(raw)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == CONTROL and headers.get("type") == "ping":
            self.pings += 1
            pong = _frame(connection.service_id, CONTROL, {"type": "pong"}, b"")
            await connection.websocket.send_bytes(pong.SerializeToString())
            return
        if frame.method != DATA:
            return
        message_id = headers.get("message_id", "")
        answer = json.loads(frame.payload or b"{}")
        data = answer.get("data")
        biz_rt = headers.get("biz_rt")
        pending = self._pending.get(message_id)
        ack = Ack(
            message_id=message_id,
            code=int(answer.get("code", 0)),
            biz_rt_ms=int(biz_rt) if biz_rt is not None else None,
            data=json.loads(base64.b64decode(data)) if data else None,
            latency_s=time.perf_counter() - pending.sent_at if pending else 0.0,
        )
        with self._lock:
            self.acks.append(ack)
        if pending is not None and not pending.future.done():
            pending.future.set_result(ack)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(ENDPOINT_PATH)
        async def endpoint(request: Request) -> JSONResponse:
            return JSONResponse(self._endpoint_answer(await request.json()))

        @app.websocket(WS_PATH)
        async def connect(websocket: WebSocket) -> None:
            await self._serve_connection(websocket)

        @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        async def forward(path: str, request: Request) -> Response:
            if self.upstream is None:
                return JSONResponse({"code": 404, "msg": "not served by the fake"}, status_code=404)
            async with httpx.AsyncClient(base_url=self.upstream) as client:
                answer = await client.request(
                    request.method,
                    "/" + path,
                    params=dict(request.query_params),
                    headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                    content=await request.body(),
                )
            return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))

        return app


def _frame(service_id: int, method: int, headers: dict[str, str], payload: bytes, seq_id: int = 0) -> Any:
    frame = Frame()
    frame.SeqID = seq_id
    frame.LogID = seq_id
    frame.service = service_id
    frame.method = method
    for key, value in headers.items():
        header = frame.headers.add()
        header.key = key
        header.value = value
    frame.payload = payload
    return frame
