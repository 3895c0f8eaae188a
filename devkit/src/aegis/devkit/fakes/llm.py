"""Loopback fakes of the two LLM APIs Aegis talks to, scripted turn by turn, for the real clients.

One server speaks both Ollama's `POST /api/chat` (NDJSON streaming — what langchain-ollama asks
for — or a single JSON object with `"stream": false`) and the OpenAI-compatible
`POST /v1/chat/completions` (a `chat.completion` object, tool calls with JSON-string arguments).
Each request consumes the next scripted turn: a reply (text and/or tool calls), a hang past the
client's timeout, a body that is not JSON, or an HTTP error. Every request body is recorded so
tests can assert on what the model was shown.

Like the real servers it knows which models it has: Ollama's `GET /api/tags` and `POST /api/show`
(with `capabilities`) and the OpenAI-style `GET /v1/models` list them, and a chat naming another
model is answered as the real ones answer it — Ollama 404 `model "x" not found, try pulling it
first`, OpenAI 404 `model_not_found` — without consuming a scripted turn. Offering tools to an
Ollama model without the `tools` capability gets Ollama's 400 `… does not support tools`.
"""

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from aegis.simulator.fakes.http import ThreadedHttpServer

CREATED_AT = "2026-11-24T10:00:00.000000Z"
# The models every test's settings name, with Ollama's capabilities of each.
MODELS: dict[str, tuple[str, ...]] = {
    "qwen2.5:32b": ("completion", "tools"),
    "qwen2.5:7b": ("completion", "tools"),
    "glm-4.7-flash:latest": ("completion", "tools"),
    "deepseek-r1:32b": ("completion", "thinking"),
    "doubao-seed-1-6": ("completion", "tools"),
}


@dataclass(frozen=True)
class Reply:
    """The model answers: text (may hold JSON or a `<think>` block) and/or tool calls (name, args)."""

    content: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class Hang:
    """The model does not answer for `seconds` (the server stops waiting when the fake stops)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Garbage:
    """A 200 answer whose body is not what the API promises."""

    body: bytes = b"<html><body>502 Bad Gateway</body></html>"


@dataclass(frozen=True)
class Failure:
    """An HTTP error in the API's own error shape."""

    status: int
    message: str


Turn = Reply | Hang | Garbage | Failure


def report(
    summary: str,
    causes: list[tuple[str, str, float, list[str]]],
    actions: list[str] | None = None,
) -> dict[str, Any]:
    """A report as Aegis asks for it: summary, (service, hypothesis, confidence, evidence ids), actions."""
    return {
        "summary": summary,
        "root_causes": [
            {"service": s, "hypothesis": h, "confidence": c, "evidence": e} for s, h, c, e in causes
        ],
        "next_actions": actions or [],
    }


@dataclass
class Seen:
    """One request the fake received."""

    api: str  # "ollama" or "openai"
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent."""
        return list(self.body.get("messages", []))

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools offered."""
        return [t["function"]["name"] for t in self.body.get("tools") or []]

    def text(self) -> str:
        """Every message's content, joined."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


def _respond(
    request: BaseHTTPRequestHandler, status: int, payload: bytes, kind: str = "application/json"
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", kind)
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


class ScriptedLlm(ThreadedHttpServer):
    """The fake; `ollama_url` goes to OLLAMA_BASE_URL, `openai_url` to DOUBAO_BASE_URL."""

    def __init__(self, *turns: Turn, models: dict[str, tuple[str, ...]] | None = None) -> None:
        self.turns: deque[Turn] = deque(turns)
        self.models = dict(MODELS if models is None else models)
        self.seen: list[Seen] = []
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    models = [outer._ollama_model(name) for name in outer.models]
                    _respond(self, 200, json.dumps({"models": models}).encode())
                elif self.path == "/v1/models":
                    data = [
                        {"id": n, "object": "model", "created": 1_795_000_000, "owned_by": "fake"}
                        for n in outer.models
                    ]
                    _respond(self, 200, json.dumps({"object": "list", "data": data}).encode())
                else:
                    _respond(self, 404, b"404 page not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/show":
                    outer._show(self, body)
                    return
                api = {"/api/chat": "ollama", "/v1/chat/completions": "openai"}.get(self.path)
                if api is None:
                    _respond(self, 404, b"404 page not found", "text/plain")
                    return
                if outer._refuse(self, api, body):
                    return
                with outer._lock:
                    outer.seen.append(Seen(api, body, dict(self.headers.items())))
                    turn = outer.turns.popleft() if outer.turns else Failure(500, "no scripted turn left")
                outer._answer(self, api, body, turn)

        super().__init__(_Handler)

    @property
    def ollama_url(self) -> str:
        """Origin of the Ollama API."""
        return self.url

    @property
    def openai_url(self) -> str:
        """Base URL of the OpenAI-compatible API (ends in /v1)."""
        return f"{self.ollama_url}/v1"

    def script(self, *turns: Turn) -> None:
        """Append turns to the script."""
        with self._lock:
            self.turns.extend(turns)

    def _ollama_model(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": CREATED_AT,
            "size": 19_851_337_640,
            "digest": "a" * 64,
            "details": {
                "format": "gguf",
                "family": "qwen2",
                "parameter_size": "32.8B",
                "quantization_level": "Q4_K_M",
            },
        }

    def _show(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if name not in self.models:
            _respond(request, 404, json.dumps({"error": f"model '{name}' not found"}).encode())
            return
        shown = {"details": self._ollama_model(name)["details"], "capabilities": list(self.models[name])}
        _respond(request, 200, json.dumps(shown).encode())

    def _refuse(self, request: BaseHTTPRequestHandler, api: str, body: dict[str, Any]) -> bool:
        """Answer as the real server does to an unknown model or tools it lacks; True when it did."""
        name = body.get("model", "")
        if name not in self.models:
            with self._lock:
                self.seen.append(Seen(api, body, dict(request.headers.items())))
            error: dict[str, Any]
            if api == "ollama":
                error = {"error": f'model "{name}" not found, try pulling it first'}
            else:
                error = {
                    "error": {
                        "message": f"The model `{name}` does not exist or you do not have access to it.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "model_not_found",
                    }
                }
            _respond(request, 404, json.dumps(error).encode())
            return True
        if api == "ollama" and body.get("tools") and "tools" not in self.models[name]:
            with self._lock:
                self.seen.append(Seen(api, body, dict(request.headers.items())))
            message = f"registry.ollama.ai/library/{name} does not support tools"
            _respond(request, 400, json.dumps({"error": message}).encode())
            return True
        return False

    def _answer(self, request: BaseHTTPRequestHandler, api: str, body: dict[str, Any], turn: Turn) -> None:
        def send(status: int, payload: bytes, kind: str = "application/json") -> None:
            _respond(request, status, payload, kind)

        if isinstance(turn, Hang):
            self._stopping.wait(turn.seconds)
            return
        if isinstance(turn, Garbage):
            send(200, turn.body, "text/html")
            return
        if isinstance(turn, Failure):
            error = {"error": turn.message} if api == "ollama" else {"error": {"message": turn.message}}
            send(turn.status, json.dumps(error).encode())
            return
        if api == "openai":
            send(200, json.dumps(self._openai(body, turn)).encode())
        elif body.get("stream", True):
            self._stream_ollama(request, body, turn)
        else:
            send(200, json.dumps(self._ollama_final(body, turn, turn.content, with_tools=True)).encode())

    def _ollama_final(
        self, body: dict[str, Any], turn: Reply, content: str, with_tools: bool
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if with_tools and turn.tool_calls:
            message["tool_calls"] = [{"function": {"name": n, "arguments": a}} for n, a in turn.tool_calls]
        return {
            "model": body.get("model", ""),
            "created_at": CREATED_AT,
            "message": message,
            "done_reason": "stop",
            "done": True,
            "total_duration": 1_000_000,
            "load_duration": 1_000,
            "prompt_eval_count": 100,
            "prompt_eval_duration": 1_000,
            "eval_count": 20,
            "eval_duration": 1_000,
        }

    def _stream_ollama(self, request: BaseHTTPRequestHandler, body: dict[str, Any], turn: Reply) -> None:
        """NDJSON over chunked transfer: content in pieces, tool calls in one chunk, then `done`."""
        request.send_response(200)
        request.send_header("Content-Type", "application/x-ndjson")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()

        def chunks() -> Iterator[dict[str, Any]]:
            model = body.get("model", "")
            for start in range(0, len(turn.content), 24):
                piece = turn.content[start : start + 24]
                yield {
                    "model": model,
                    "created_at": CREATED_AT,
                    "message": {"role": "assistant", "content": piece},
                    "done": False,
                }
            if turn.tool_calls:
                calls = [{"function": {"name": n, "arguments": a}} for n, a in turn.tool_calls]
                yield {
                    "model": model,
                    "created_at": CREATED_AT,
                    "message": {"role": "assistant", "content": "", "tool_calls": calls},
                    "done": False,
                }
            yield self._ollama_final(body, turn, "", with_tools=False)

        for chunk in chunks():
            line = json.dumps(chunk).encode() + b"\n"
            request.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        request.wfile.write(b"0\r\n\r\n")

    def _openai(self, body: dict[str, Any], turn: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": turn.content or None, "refusal": None}
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": n, "arguments": json.dumps(a, ensure_ascii=False)},
                }
                for n, a in turn.tool_calls
            ]
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": 1_795_000_000,
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if turn.tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }

    def stop(self) -> None:
        """Release hanging answers, stop serving, close the socket."""
        self._stopping.set()
        super().stop()
