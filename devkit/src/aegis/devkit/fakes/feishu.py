"""A loopback fake of the Feishu open platform that the real lark-oapi client talks to.

It answers the way FEISHU.md "Limits and errors" says the real platform does: the tenant token
(revocable: `revoke_token`, after which the old token gets 99991663 with HTTP 400), message
create / reply / patch with their limits (uuid idempotency for an hour, `update_multi` for
patches, request bodies over 30 KB refused with 230025), 5 sends per second per chat answered
with body code 230020 and no reset header (HTTP 400, or 200: `chat_limit_status`), injected
failures (`fail_next`: the API limit 429 / 99991400 with `x-ogw-ratelimit-reset`, 5xx, or any body
code such as 230049 "being sent", which may have sent the message, and 1500 "retry later"), a
group where only the owner may @all (`restrict_at_all`: the whole message is refused), and
recalled messages (`recall`: patches and replies to them get 230011). Every answer carries an
`X-Tt-Logid`. It records every request so tests can assert on what was sent. It runs in its own
thread and event loop because lark-oapi fetches tokens with blocking calls.
"""

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aegis.devkit.harness.threaded_server import ServedFake

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
BOT_INFO_PATH = "/open-apis/bot/v3/info"
CONTACT_BATCH_GET_ID_PATH = "/open-apis/contact/v3/users/batch_get_id"
CARD_LIMIT = 30 * 1024
TEXT_LIMIT = 150 * 1024
UUID_WINDOW_S = 3600.0
CHAT_RATE_LIMITED = 230020
AT_ALL = "<at id=all></at>"
# Feishu does not document the code of an @all refusal; the notifier must not depend on this one.
AT_ALL_REFUSED = 230027
RECALLED = 230011


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    status: int


@dataclass
class FakeMessage:
    message_id: str
    chat_id: str
    msg_type: str
    content: str
    uuid: str | None
    created_at: float
    parent_id: str | None = None
    root_id: str | None = None
    reply_in_thread: bool = False
    patches: list[str] = field(default_factory=list)
    from_user: bool = False

    @property
    def current(self) -> str:
        """The content as the chat shows it now (after the last patch)."""
        return self.patches[-1] if self.patches else self.content

    def card(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.current)
        return parsed

    @property
    def text(self) -> str:
        """Everything a reader sees, flattened (card JSON or text), for assertions."""
        return self.current


@dataclass
class _Fault:
    status: int
    remaining: int
    reset_s: float
    code: int | None = None
    delivered: bool = False


class FakeFeishu(ServedFake):
    """The fake open platform. Use as a context manager; `base_url` goes to `FEISHU_BASE_URL`."""

    server_name = "fake-feishu"

    def __init__(
        self,
        app_id: str = "cli_test",
        app_secret: str = "secret",
        chat_rate_per_s: int = 5,
        bot_open_id: str = "ou_aegis_bot",
    ) -> None:
        self.app_id = app_id
        self.bot_open_id = bot_open_id
        self.app_secret = app_secret
        self.chat_rate_per_s = chat_rate_per_s
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self.messages: dict[str, FakeMessage] = {}
        self._by_uuid: dict[str, FakeMessage] = {}
        self._token_generation = 1
        self._tokens = {self._token()}
        self._tokens_issued = 0
        self._limit_every = 0
        self.chat_limit_status = 400
        self._message_calls = 0
        self._at_all_restricted: set[str] = set()
        self._log_ids = itertools.count(1)
        self._chat_sends: dict[str, deque[float]] = {}
        self._faults: deque[_Fault] = deque()
        self._lost_answers = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # The contact directory `batch_get_id` answers from: email → open_id.
        self.directory: dict[str, str] = {}
        self.contact_scope_granted = True

    # -- test controls -------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int = 429,
        reset_s: float = 1.0,
        code: int | None = None,
        delivered: bool = False,
    ) -> None:
        """Answer the next `count` message calls with `status` and body `code`.

        429 without a code is the API limit (99991400 with the reset header); `delivered` sends the
        message anyway before answering, as 230049 "being sent" may have.
        """
        with self._lock:
            self._faults.append(
                _Fault(status=status, remaining=count, reset_s=reset_s, code=code, delivered=delivered)
            )

    def chat_limit_every(self, nth: int, status: int = 400) -> None:
        """Answer every `nth` message call with the per-chat limit 230020 (HTTP `status`, no reset header)."""
        with self._lock:
            self._limit_every = nth
            self.chat_limit_status = status

    def revoke_token(self) -> None:
        """The app secret was reset: the current tenant token is refused from now on (99991663)."""
        with self._lock:
            self._tokens.clear()
            self._token_generation += 1

    def restrict_at_all(self, chat_id: str) -> None:
        """Only the group's owner and admins may @all there: a bot message that does is refused whole."""
        with self._lock:
            self._at_all_restricted.add(chat_id)

    def recall(self, message_id: str) -> None:
        """The message is recalled: it disappears, and patches and replies to it are refused."""
        with self._lock:
            self.messages.pop(message_id, None)

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return self._tokens_issued

    def _token(self) -> str:
        return f"t-fake-{self.app_id}-{self._token_generation}"

    def user_message(self, chat_id: str, text: str, thread: bool = False) -> FakeMessage:
        """A message posted by a person (e.g. the @mention a question replies under)."""
        with self._lock:
            message = FakeMessage(
                message_id=f"om_user_{next(self._ids):08x}",
                chat_id=chat_id,
                msg_type="text",
                content=json.dumps({"text": text}, ensure_ascii=False),
                uuid=None,
                created_at=time.monotonic(),
                from_user=True,
            )
            self.messages[message.message_id] = message
        return message

    def replies_to(self, message_id: str) -> list[FakeMessage]:
        """Bot messages replying under `message_id`, oldest first."""
        return [m for m in self.sent() if m.parent_id == message_id]

    def lose_answers(self, count: int) -> None:
        """Store the next `count` created messages but answer 504, as after a timeout in transit."""
        with self._lock:
            self._lost_answers += count

    def sent(self, chat_id: str | None = None) -> list[FakeMessage]:
        """Messages the bot created or replied, oldest first (optionally in one chat)."""
        with self._lock:
            found = [
                m
                for m in self.messages.values()
                if not m.from_user and (chat_id is None or m.chat_id == chat_id)
            ]
        return sorted(found, key=lambda m: m.created_at)

    def posted(self, chat_id: str) -> list[FakeMessage]:
        """The bot's own messages in `chat_id` (alert cards), without its replies in threads."""
        return [m for m in self.sent(chat_id) if m.parent_id is None]

    def calls(self, path_part: str = "/im/v1/messages", method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r for r in self.requests if path_part in r.path and (method is None or r.method == method)
            ]

    def max_sends_in_any_second(self, chat_id: str) -> int:
        """The most message calls (accepted or not) aimed at `chat_id` within any 1-second span."""
        times = sorted(r.at for r in self.calls() if self._chat_of(r) == chat_id)
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- the protocol --------------------------------------------------------------------------

    def _chat_of(self, request: RecordedRequest) -> str | None:
        if request.query.get("receive_id_type") == "chat_id":
            return str(request.body.get("receive_id"))
        parts = request.path.rstrip("/").split("/")
        if "messages" in parts:
            index = parts.index("messages") + 1
            if index < len(parts):
                message = self.messages.get(parts[index])
                return message.chat_id if message else None
        return None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(TOKEN_PATH)
        async def token(request: Request) -> JSONResponse:
            body = await request.json()
            if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
                return self._record(request, body, 200, {"code": 10014, "msg": "app secret invalid"})
            with self._lock:
                token = self._token()
                self._tokens.add(token)
                self._tokens_issued += 1
            return self._record(
                request, body, 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}
            )

        @app.get(BOT_INFO_PATH)
        async def bot_info(request: Request) -> JSONResponse:
            auth = request.headers.get("authorization", "")
            if auth.removeprefix("Bearer ") not in self._tokens:
                return self._record(request, {}, 400, _INVALID_TOKEN)
            bot = {"open_id": self.bot_open_id, "app_name": "Aegis", "activate_status": 2}
            return self._record(request, {}, 200, {"code": 0, "msg": "ok", "bot": bot})

        @app.post(CONTACT_BATCH_GET_ID_PATH)
        async def batch_get_id(request: Request) -> JSONResponse:
            return self._batch_get_id(request, await request.json())

        @app.post("/open-apis/im/v1/messages")
        async def create(request: Request) -> JSONResponse:
            body = await request.json()
            if request.query_params.get("receive_id_type") != "chat_id":
                return self._record(request, body, 400, {"code": 230001, "msg": "invalid receive_id_type"})
            return self._send(request, body, chat_id=str(body.get("receive_id", "")), parent=None)

        @app.post("/open-apis/im/v1/messages/{message_id}/reply")
        async def reply(message_id: str, request: Request) -> JSONResponse:
            body = await request.json()
            parent = self.messages.get(message_id)
            if parent is None:
                return self._record(request, body, 400, _RECALLED_ANSWER)
            return self._send(request, body, chat_id=parent.chat_id, parent=parent)

        @app.patch("/open-apis/im/v1/messages/{message_id}")
        async def patch(message_id: str, request: Request) -> JSONResponse:
            body = await request.json()
            known = self.messages.get(message_id)
            rejected = self._gate(request, body, known.chat_id if known else None, _body_size(body))
            if rejected is not None:
                return rejected
            with self._lock:  # _record takes the lock too: answer refusals after releasing it
                message = self.messages.get(message_id)
                problem = _card_problem(str(body.get("content", "")), needs_update_multi=True)
                if message is not None and message.msg_type != "interactive":
                    problem = "only interactive cards can be patched"
                if message is not None and not problem:
                    message.patches.append(str(body["content"]))
            if message is None:
                return self._record(request, body, 400, _RECALLED_ANSWER)
            if problem:
                return self._record(request, body, 400, {"code": 230001, "msg": problem})
            return self._record(request, body, 200, {"code": 0, "msg": "success", "data": {}})

        return app

    def _batch_get_id(self, request: Request, body: dict[str, Any]) -> JSONResponse:
        """Emails (and mobiles) to user ids as Feishu answers: unknown ones come back without `user_id`."""
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self._tokens:
            return self._record(request, body, 400, _INVALID_TOKEN)
        if not self.contact_scope_granted:
            return self._record(
                request,
                body,
                400,
                {
                    "code": 99991672,
                    "msg": "Access denied. One of the following scopes is required: "
                    "[contact:user.id:readonly, contact:contact:readonly_as_app].",
                },
            )
        id_type = request.query_params.get("user_id_type", "open_id")
        emails, mobiles = body.get("emails") or [], body.get("mobiles") or []
        if id_type not in ("open_id", "union_id", "user_id") or len(emails) > 50 or len(mobiles) > 50:
            return self._record(request, body, 400, {"code": 99992402, "msg": "field validation failed"})
        users = []
        for email in emails:
            found = self.directory.get(str(email))
            entry: dict[str, Any] = {"email": email}
            if found is not None:
                entry["user_id"] = found if id_type == "open_id" else f"{id_type[:2]}_{found}"
                entry["status"] = {"is_frozen": False, "is_resigned": False, "is_activated": True}
            users.append(entry)
        users.extend({"mobile": mobile} for mobile in mobiles)
        return self._record(request, body, 200, {"code": 0, "msg": "success", "data": {"user_list": users}})

    def _gate(
        self, request: Request, body: dict[str, Any], chat_id: str | None, size: int
    ) -> JSONResponse | None:
        """Auth, body size, injected faults and the per-chat rate limit, in that order."""
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self._tokens:
            return self._record(request, body, 400, _INVALID_TOKEN)
        if size > CARD_LIMIT and body.get("msg_type", "interactive") in ("interactive", "post"):
            return self._record(request, body, 400, {"code": 230025, "msg": "request body exceeds 30 KB"})
        with self._lock:
            fault = self._faults[0] if self._faults else None
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.popleft()
            self._message_calls += 1
            every_nth = self._limit_every > 0 and self._message_calls % self._limit_every == 0
        if fault is not None:
            if fault.status == 429 and fault.code is None:
                return self._rate_limited(request, body, fault.reset_s)
            if fault.delivered and chat_id is not None and request.method == "POST":
                self._store(body, chat_id, parent=None)
            code = fault.code if fault.code is not None else 99991400 + fault.status
            return self._record(
                request, body, fault.status, {"code": code, "msg": _FAULT_MESSAGES.get(code, "error")}
            )
        if every_nth:
            return self._chat_limited(request, body)
        if chat_id is not None:
            now = time.monotonic()
            with self._lock:
                window = self._chat_sends.setdefault(chat_id, deque())
                while window and now - window[0] >= 1.0:
                    window.popleft()
                if len(window) >= self.chat_rate_per_s:
                    limited = True
                else:
                    window.append(now)
                    limited = False
            if limited:
                return self._chat_limited(request, body)
        return None

    def _chat_limited(self, request: Request, body: dict[str, Any]) -> JSONResponse:
        """The per-chat limit as Feishu answers it: 230020, HTTP 400 (sometimes 200), no reset header."""
        answer = {"code": CHAT_RATE_LIMITED, "msg": "This message is triggered the frequency limit."}
        return self._record(request, body, self.chat_limit_status, answer)

    def _rate_limited(self, request: Request, body: dict[str, Any], reset_s: float) -> JSONResponse:
        headers = {
            "x-ogw-ratelimit-limit": str(self.chat_rate_per_s),
            "x-ogw-ratelimit-reset": str(max(1, round(reset_s))),
        }
        return self._record(
            request, body, 429, {"code": 99991400, "msg": "request trigger frequency limit"}, headers
        )

    def _send(
        self, request: Request, body: dict[str, Any], chat_id: str, parent: FakeMessage | None
    ) -> JSONResponse:
        rejected = self._gate(request, body, chat_id, _body_size(body))
        if rejected is not None:
            return rejected
        msg_type = str(body.get("msg_type", ""))
        content = str(body.get("content", ""))
        problem = _content_problem(msg_type, content)
        if not chat_id:
            problem = "receive_id is required"
        if problem:
            return self._record(request, body, 400, {"code": 230001, "msg": problem})
        if chat_id in self._at_all_restricted and AT_ALL in content:
            answer = {"code": AT_ALL_REFUSED, "msg": "bot has no permission to @all in this chat"}
            return self._record(request, body, 400, answer)
        message = self._store(body, chat_id, parent)
        data = {
            "message_id": message.message_id,
            "chat_id": message.chat_id,
            "msg_type": message.msg_type,
            "root_id": message.root_id,
            "parent_id": message.parent_id,
            "create_time": str(int(time.time() * 1000)),
            "body": {"content": message.content},
        }
        with self._lock:
            lost, self._lost_answers = self._lost_answers > 0, max(0, self._lost_answers - 1)
        if lost:
            return self._record(request, body, 504, {"code": 99991504, "msg": "gateway timeout"})
        return self._record(request, body, 200, {"code": 0, "msg": "success", "data": data})

    def _store(self, body: dict[str, Any], chat_id: str, parent: FakeMessage | None) -> FakeMessage:
        """The message `body` creates, or the one its uuid created within the hour."""
        msg_type = str(body.get("msg_type", ""))
        content = str(body.get("content", ""))
        uuid = body.get("uuid") or None
        now = time.monotonic()
        with self._lock:
            existing = self._by_uuid.get(uuid) if uuid else None
            if existing is not None and now - existing.created_at < UUID_WINDOW_S:
                message = existing
            else:
                message = FakeMessage(
                    message_id=f"om_{next(self._ids):08x}",
                    chat_id=chat_id,
                    msg_type=msg_type,
                    content=content,
                    uuid=uuid,
                    created_at=now,
                    parent_id=parent.message_id if parent else None,
                    root_id=(parent.root_id or parent.message_id) if parent else None,
                    reply_in_thread=bool(body.get("reply_in_thread", False)),
                )
                self.messages[message.message_id] = message
                if uuid:
                    self._by_uuid[uuid] = message
        return message

    def _record(
        self,
        request: Request,
        body: dict[str, Any],
        status: int,
        answer: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=dict(request.query_params),
                    headers=dict(request.headers),
                    body=body,
                    at=time.monotonic(),
                    status=status,
                )
            )
        log_id = f"20261201{next(self._log_ids):012d}"
        return JSONResponse(answer, status_code=status, headers={"X-Tt-Logid": log_id, **(headers or {})})


_INVALID_TOKEN = {
    "code": 99991663,
    "msg": "Invalid access token for authorization. Please make a request with token attached.",
}
_RECALLED_ANSWER = {"code": RECALLED, "msg": "The message was withdrawn."}
_FAULT_MESSAGES = {
    230049: "The message is being sent, please do not resend.",
    1500: "内部错误，请稍后重试",
    230002: "Bot/User can NOT be out of the chat.",
}


def _body_size(body: dict[str, Any]) -> int:
    """The request body's size as the client sent it (lark-oapi: compact keys, UTF-8, no ASCII escapes)."""
    return len(json.dumps(body, ensure_ascii=False).encode())


def _content_problem(msg_type: str, content: str) -> str | None:
    if msg_type == "interactive":
        return _card_problem(content, needs_update_multi=False)
    if msg_type == "text":
        try:
            text = json.loads(content)["text"]
        except (ValueError, KeyError, TypeError):
            return "text content must be a JSON string with a text field"
        return "text too long" if len(content.encode()) > TEXT_LIMIT or not isinstance(text, str) else None
    return f"unsupported msg_type {msg_type!r}"


def _card_problem(content: str, needs_update_multi: bool) -> str | None:
    try:
        card = json.loads(content)
    except ValueError:
        return "card content is not JSON"
    if not isinstance(card, dict) or not ("elements" in card or "body" in card):
        return "card has no elements"
    if needs_update_multi and not (card.get("config") or {}).get("update_multi"):
        return "card must set config.update_multi to be patched"
    return None
