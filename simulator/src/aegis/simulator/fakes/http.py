"""Serving a fake over real HTTP on loopback, or in-process through httpx, with misbehaviour on demand.

`ThreadedHttpServer` is the one threaded loopback server of the request-handler fakes (these
backends, and the LLM fake in aegis.devkit, which streams); ASGI fakes are served by uvicorn through
aegis.devkit.harness.threaded_server. `mode` lets tests make a backend slow (answers after
`delay_s`) or talk garbage, while the server keeps speaking HTTP; stopping it makes it "down".
"""

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

import httpx

Params = list[tuple[str, str]]


@dataclass(frozen=True)
class FakeResponse:
    """Status and body of one answer: JSON, or plain text when `body` is a `str` (Loki's errors)."""

    status: int
    body: Any
    headers: Mapping[str, str] | None = None

    def encode(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()

    @property
    def content_type(self) -> str:
        """`text/plain; charset=utf-8` for text bodies, else `application/json`."""
        return "text/plain; charset=utf-8" if isinstance(self.body, str) else "application/json"


Handler = Callable[[str, str, Params], FakeResponse]
Mode = Literal["ok", "slow", "garbage"]


def not_found(path: str) -> FakeResponse:
    """The 404 a real server gives for an unknown path."""
    return FakeResponse(404, {"status": "error", "error": f"404 page not found: {path}"})


class _Server(ThreadingHTTPServer):
    # The stdlib's backlog of 5 drops the SYNs of a burst of parallel clients, which then retry after
    # a full second; real servers listen with a deep backlog.
    request_queue_size = 128


class ThreadedHttpServer:
    """The one loopback HTTP server of the fakes: `request_class` answering on 127.0.0.1 from a
    background thread (a thread per request), started and stopped as a context manager."""

    def __init__(self, request_class: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), request_class)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class LoopbackServer(ThreadedHttpServer):
    """A fake's handler served on loopback; records requests seen."""

    def __init__(self, handler: Handler, port: int = 0, tenant_header: str | None = None) -> None:
        """`tenant_header`: refuse requests without it with 401 "no org id", as multi-tenant Loki does."""
        self.handler = handler
        self.tenant_header = tenant_header
        self.mode: Mode = "ok"
        self.delay_s = 5.0
        self.latency_s = 0.0  # time a real backend spends on a query; 0 answers as fast as Python can
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        outer = self

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stalls

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                params = parse_qsl(parts.query, keep_blank_values=True)
                with outer._lock:
                    outer.requests.append((self.command, parts.path, dict(self.headers.items())))
                if outer.mode == "slow":
                    time.sleep(outer.delay_s)
                elif outer.latency_s:
                    time.sleep(outer.latency_s)
                extra: Mapping[str, str] = {}
                kind = "application/json"
                if outer.tenant_header and not self.headers.get(outer.tenant_header):
                    body, status, kind = b"no org id\n", 401, "text/plain; charset=utf-8"
                elif outer.mode == "garbage":
                    body, status = b"<html>502 Bad Gateway? no: garbage {", 200
                else:
                    answer = outer.handler(self.command, parts.path, params)
                    body, status, kind = answer.encode(), answer.status, answer.content_type
                    extra = answer.headers or {}
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            # Every method reaches the fake, so tests can prove the engine never sends a write.
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_DELETE(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

        super().__init__(_Request, port)


def mock_transport(routes: Mapping[str, Handler]) -> httpx.MockTransport:
    """An httpx transport answering `http://<host>/…` from `routes[host]`, with no sockets at all."""

    def handle(request: httpx.Request) -> httpx.Response:
        handler = routes.get(request.url.host)
        if handler is None:
            return httpx.Response(502, json={"error": f"no fake for {request.url.host}"})
        params = [(k, v) for k, v in request.url.params.multi_items()]
        answer = handler(request.method, request.url.path, params)
        return httpx.Response(
            answer.status,
            content=answer.encode(),
            headers={"Content-Type": answer.content_type, **(answer.headers or {})},
        )

    return httpx.MockTransport(handle)
