"""The bounded HTTP edge in front of every route: nothing a client sends can exhaust the process.

Checked in order of cost, before any route reads a byte of body: header size (431), then for the
analysis API the bearer token (401), the client's request rate and open streams (429 with
`Retry-After`) and the declared body size (413). The body itself is then read under a size limit
and a deadline for the whole body (413 / 408), so eight 50 MB uploads, a slow-loris body or an
8 MB header cost kilobytes, not the pod. The webhook keeps its own size check (it reads raw) but
gets the same header limit and body deadline.
"""

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aegis.alert_ingest.auth import BearerTokenCheck
from aegis.alert_ingest.rejections import Rejection, RejectionReason

API_PREFIX = "/api/ops/"
STREAM_PATH = "/api/ops/analyze/stream"
_MAX_TRACKED_CLIENTS = 10_000

log = structlog.get_logger("aegis.alert_ingest.edge")


@dataclass(frozen=True)
class EdgeLimits:
    """What one request, and one client of the analysis API, may use."""

    max_header_bytes: int
    api_max_body_bytes: int
    body_timeout_s: float
    api_requests_per_minute: int
    api_streams_per_client: int


class ClientBudget:
    """Per-client token bucket (requests per minute) and open-stream count, for the analysis API.

    Pure bookkeeping with an injected clock; the least recently seen clients are forgotten
    beyond `_MAX_TRACKED_CLIENTS`, so a spray of addresses cannot grow it without bound.
    """

    def __init__(self, per_minute: int, streams: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(per_minute)
        self._streams = streams
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._open: dict[str, int] = {}

    def admit(self, client: str, stream: bool) -> float | None:
        """None when `client` may go on (a token is taken), else the seconds to wait before retrying."""
        now = self._clock()
        tokens, last = self._buckets.pop(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if stream and self._open.get(client, 0) >= self._streams:
            self._remember(client, tokens, now)
            return 5.0
        if tokens < 1.0:
            self._remember(client, tokens, now)
            return (1.0 - tokens) / self._rate
        self._remember(client, tokens - 1.0, now)
        if stream:
            self._open[client] = self._open.get(client, 0) + 1
        return None

    def closed(self, client: str) -> None:
        """One of `client`'s streams ended."""
        left = self._open.get(client, 0) - 1
        if left > 0:
            self._open[client] = left
        else:
            self._open.pop(client, None)

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > _MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)


class _LateBodies:
    """The bodies being waited for, each with its deadline; one sweep cuts off the late ones.

    No timer per request (bench.ingest measured timers on the hot path): a guard only notes itself
    while it waits for body bytes, and the sweep (every second, or half the deadline) cancels the
    wait of a guard past its deadline, which then answers 408.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._waiting: dict[_BodyGuard, asyncio.Task[Any]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def waiting(self, guard: "_BodyGuard", task: asyncio.Task[Any]) -> None:
        self._waiting[guard] = task
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    def arrived(self, guard: "_BodyGuard") -> None:
        self._waiting.pop(guard, None)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.timeout_s / 2))
            now = time.monotonic()
            for guard, task in list(self._waiting.items()):
                if guard.deadline <= now:
                    del self._waiting[guard]
                    guard.late = True
                    task.cancel()


class _BodyGuard:
    """`receive` with a size limit and one deadline for the whole body.

    Over the limit or past the deadline, the app is told the client disconnected and the guard
    remembers why, so the edge answers 413 or 408 instead of whatever the app made of it.
    """

    def __init__(self, receive: Receive, limit: int | None, late: _LateBodies) -> None:
        self._receive = receive
        self._limit = limit
        self._bodies = late
        self.deadline = time.monotonic() + late.timeout_s
        self._read = 0
        self._complete = False
        self.late = False
        self.refusal: Rejection | None = None

    async def __call__(self) -> Message:
        if self.refusal is not None:
            return {"type": "http.disconnect"}
        if self._complete:
            return await self._receive()  # the body is complete: a stream may now run long
        task = asyncio.current_task()
        if task is None or time.monotonic() >= self.deadline:
            return self._too_late()
        self._bodies.waiting(self, task)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.late:
                raise
            task.uncancel()
            return self._too_late()
        finally:
            self._bodies.arrived(self)
        if message["type"] == "http.request":
            self._read += len(message.get("body", b""))
            if self._limit is not None and self._read > self._limit:
                self.refusal = Rejection(413, "too_large", f"request body over {self._limit} bytes")
                return {"type": "http.disconnect"}
            self._complete = not message.get("more_body", False)
        return message

    def _too_late(self) -> Message:
        self.refusal = Rejection(408, "body_timeout", "the request body did not arrive in time")
        return {"type": "http.disconnect"}


class BoundedEdge:
    """ASGI middleware applying `EdgeLimits` to every HTTP request before the app sees it."""

    def __init__(
        self,
        app: ASGIApp,
        limits: EdgeLimits,
        token_check: BearerTokenCheck,
        counted: Callable[[RejectionReason], None] | None = None,
    ) -> None:
        self._counted = counted or (lambda _reason: None)
        self._app = app
        self._limits = limits
        self._token_check = token_check
        self._clients = ClientBudget(limits.api_requests_per_minute, limits.api_streams_per_client)
        self._late_bodies = _LateBodies(limits.body_timeout_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limits = self._limits
        path: str = scope["path"]
        api = path.startswith(API_PREFIX)
        client = _peer(scope) if api else ""
        stream = False
        try:
            headers = _checked_headers(scope, limits.max_header_bytes)
            if api:
                self._token_check.check(headers.get(b"authorization", b"").decode("latin-1") or None)
                stream = path == STREAM_PATH
                wait = self._clients.admit(client, stream)
                if wait is not None:
                    raise Rejection(
                        429,
                        "rate_limited",
                        "too many analysis requests or open streams from this client",
                        headers={"Retry-After": str(max(1, round(wait)))},
                    )
                _check_declared_length(headers.get(b"content-length"), limits.api_max_body_bytes)
        except Rejection as rejection:
            log.warning(
                "request refused at the edge",
                path=path,
                reason=rejection.reason,
                status=rejection.status_code,
            )
            self._counted(rejection.reason)
            await _refuse(send, rejection)
            return
        guard = _BodyGuard(receive, limits.api_max_body_bytes if api else None, self._late_bodies)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if guard.refusal is not None and not started:
                return  # the edge answers instead (below)
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, guard, guarded_send)
        finally:
            if stream:
                self._clients.closed(client)
        if guard.refusal is not None and not started:
            log.warning("request body refused", path=path, reason=guard.refusal.reason)
            self._counted(guard.refusal.reason)
            await _refuse(send, guard.refusal)


def _checked_headers(scope: Scope, limit: int) -> dict[bytes, bytes]:
    size = 0
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
        if name in (b"authorization", b"content-length"):
            found[name] = value
    if size > limit:
        raise Rejection(431, "headers_too_large", f"request headers over {limit} bytes")
    return found


def _check_declared_length(value: bytes | None, limit: int) -> None:
    if value is None:
        return
    try:
        declared = int(value)
    except ValueError:
        raise Rejection(400, "bad_content_length", "Content-Length is not a number") from None
    if declared > limit:
        raise Rejection(413, "too_large", f"request body of {declared} bytes is over {limit} bytes")


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _refuse(send: Send, rejection: Rejection) -> None:
    body = json.dumps(rejection.body(), ensure_ascii=False).encode()
    # A client too slow or with oversized headers is cut off; otherwise the server discards the
    # rest of the body unread (nothing is buffered) and the client gets its answer.
    closing = [(b"connection", b"close")] if rejection.status_code in (408, 431) else []
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *closing,
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (rejection.headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": rejection.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
