"""Where cards go: Feishu through the real lark-oapi client, or the console for local runs.

Both speak `CardSink`. Every Feishu answer is classified from its body code and HTTP status
(`classify`, per FEISHU.md "Limits and errors"), because the SDK neither raises nor retries:
the two rate limits (`RateLimited`, the per-chat 230020 one marked `per_chat`), outcomes worth
retrying under the same uuid (`TransientSendError`: 5xx, timeouts, 230049 "being sent", 1500 and
other internal codes), refusals that stay refusals (`PermanentSendError`, carrying Feishu's code,
msg and log_id), and the refusal of a patch or reply to a recalled message (`MessageGone`). An
invalid tenant token is fixed here: the SDK's cached token is dropped and the call made once more.
"""

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TextIO

import structlog

from aegis.notifier.cards import AT_ALL, Card, card_json
from aegis.shared.lark_sdk import load_lean

load_lean()

from lark_oapi.api.im.v1 import (  # noqa: E402 - after load_lean(), which keeps the SDK lean
    CreateMessageRequest,
    CreateMessageRequestBody,
    PatchMessageRequest,
    PatchMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)
from lark_oapi.api.im.v1.resource.message import Message  # noqa: E402
from lark_oapi.core.enum import LogLevel  # noqa: E402
from lark_oapi.core.log import logger as lark_logger  # noqa: E402
from lark_oapi.core.model import Config  # noqa: E402
from lark_oapi.core.token import TokenManager  # noqa: E402

log = structlog.get_logger("aegis.notifier.feishu")

GATEWAY_RATE_LIMITED = 99991400
CHAT_RATE_LIMITED = 230020
TOKEN_INVALID = frozenset({99991663, 99991661, 99991671, 99991677})
BEING_SENT = 230049
INTERNAL_ERROR = 1500
MESSAGE_GONE = frozenset({230011, 230031})
# "Being sent" (outcome unknown) and "internal error, retry later"; 5xx statuses are retried too.
RETRY_LATER = frozenset({BEING_SENT, INTERNAL_ERROR})
CHAT_LIMIT_WAIT_S = 1.0


class SendError(Exception):
    """A send that did not happen."""


class RateLimited(SendError):
    """Feishu said to slow down; nothing may go to that chat for `reset_s` seconds.

    `per_chat` is the chat's own 5-per-second limit (230020, shared with every bot in the group),
    which calls for sending to that chat more slowly, not just waiting.
    """

    def __init__(self, reset_s: float, per_chat: bool = False) -> None:
        which = "the chat's send limit (230020)" if per_chat else "Feishu's API limit"
        super().__init__(f"rate limited by {which} for {reset_s:g}s")
        self.reset_s = reset_s
        self.per_chat = per_chat


class TransientSendError(SendError):
    """Worth retrying later under the same uuid: a 5xx, a timeout, "being sent", an internal error."""


class PermanentSendError(SendError):
    """Retrying the same request cannot succeed; says what Feishu answered, for the dead letter."""

    def __init__(self, status: int, code: int | None, msg: str, log_id: str | None) -> None:
        super().__init__(
            f"Feishu refused the message: HTTP {status} code {code} msg {msg!r} log_id {log_id or '-'}"
        )
        self.status = status
        self.code = code
        self.msg = msg
        self.log_id = log_id


class MessageGone(PermanentSendError):
    """The message to patch or reply to was recalled or deleted: post a new message instead."""


def note_gone(what: str, message_id: str, gone: MessageGone) -> None:
    """Log that `message_id` (the `what`) no longer exists and a new message is posted instead."""
    log.warning(
        f"{what} was recalled or deleted; posting a new message instead",
        message_id=message_id,
        code=gone.code,
        log_id=gone.log_id,
    )


class TokenInvalid(SendError):
    """The tenant token was revoked or expired (a secret reset): fetch a new one and call again."""


def classify(
    status: int, code: int | None, msg: str, log_id: str | None, headers: Mapping[str, str]
) -> SendError | None:
    """What one Feishu answer means: None for success, else the error to act on.

    The body code decides first (Feishu answers some refusals with HTTP 200 and some rate limits
    with 400); the status only decides when the code says nothing Feishu documents.
    """
    if code == 0 and status < 400:
        return None
    if code == CHAT_RATE_LIMITED:
        return RateLimited(CHAT_LIMIT_WAIT_S, per_chat=True)
    if code == GATEWAY_RATE_LIMITED or status == 429:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            reset = float(lowered.get("x-ogw-ratelimit-reset", "1"))
        except ValueError:
            reset = 1.0
        return RateLimited(max(reset, 0.2))
    if code in TOKEN_INVALID:
        return TokenInvalid(f"tenant token rejected: code {code} {msg}")
    if code in MESSAGE_GONE:
        return MessageGone(status, code, msg, log_id)
    if code in RETRY_LATER or status >= 500 or status == 0 or code is None:
        answer = f"HTTP {status} code {code}: {msg} (log_id {log_id or '-'})"
        return TransientSendError(f"Feishu answered {answer}")
    return PermanentSendError(status, code, msg, log_id)


class CardSink(Protocol):
    async def send_card(self, chat_id: str, card: Card, uuid: str) -> str:
        """Create a card message in `chat_id`; the same `uuid` never shows twice."""
        ...

    async def reply_card(self, message_id: str, card: Card, uuid: str, in_thread: bool) -> str:
        """Reply with a card under `message_id`."""
        ...

    async def patch_card(self, message_id: str, card: Card) -> None:
        """Replace the card of `message_id`."""
        ...


class FeishuSink:
    """Sends through lark-oapi's message resource (async); the SDK's blocking token fetch runs in a thread."""

    def __init__(self, app_id: str, app_secret: str, base_url: str, timeout_s: float) -> None:
        # What `lark.Client.builder()...build()` configures, minus the 60 services it would load;
        # FEISHU_BASE_URL is checked as an origin by the settings.
        self._config = Config()
        self._config.app_id = app_id
        self._config.app_secret = app_secret
        self._config.domain = base_url.rstrip("/")
        self._config.timeout = timeout_s
        self._config.log_level = LogLevel.WARNING
        lark_logger.setLevel(int(LogLevel.WARNING.value))
        self._messages = Message(self._config)

    @property
    def config(self) -> Config:
        """The SDK configuration, shared with the contact lookups of `mentions`."""
        return self._config

    async def _token(self) -> None:
        try:
            await asyncio.to_thread(TokenManager.get_self_tenant_token, self._config)
        except Exception as error:
            raise TransientSendError(f"could not obtain a tenant access token: {error}") from error

    def drop_cached_token(self) -> None:
        """Forget the SDK's cached tenant token, so the next call fetches a new one.

        lark-oapi's `TokenManager` keeps a token until `expire - 600 s` whatever Feishu answers;
        its cache offers only get and set, so the entry is overwritten as already expired.
        """
        TokenManager.cache.set(f"self_tenant_token:{self._config.app_id}", "", 0)

    async def send_card(self, chat_id: str, card: Card, uuid: str) -> str:
        def create() -> Any:
            body = (
                CreateMessageRequestBody.builder()
                .receive_id(chat_id)
                .msg_type("interactive")
                .content(card_json(card))
                .uuid(uuid)
                .build()
            )
            request = CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()
            return self._messages.acreate(request)

        response = await self._request(create)
        return str(response.data.message_id)

    async def reply_card(self, message_id: str, card: Card, uuid: str, in_thread: bool) -> str:
        def reply() -> Any:
            body = (
                ReplyMessageRequestBody.builder()
                .msg_type("interactive")
                .content(card_json(card))
                .uuid(uuid)
                .reply_in_thread(in_thread)
                .build()
            )
            return self._messages.areply(
                ReplyMessageRequest.builder().message_id(message_id).request_body(body).build()
            )

        response = await self._request(reply)
        return str(response.data.message_id)

    async def patch_card(self, message_id: str, card: Card) -> None:
        def patch() -> Any:
            body = PatchMessageRequestBody.builder().content(card_json(card)).build()
            return self._messages.apatch(
                PatchMessageRequest.builder().message_id(message_id).request_body(body).build()
            )

        await self._request(patch)

    async def _request(self, call: Callable[[], Any]) -> Any:
        """Make `call` (a fresh request each time); after a rejected token, once more with a new one."""
        await self._token()
        try:
            return await self._call(call())
        except TokenInvalid as error:
            log.warning("feishu rejected the tenant token; fetching a new one", error=str(error))
            self.drop_cached_token()
        await self._token()
        try:
            return await self._call(call())
        except TokenInvalid as error:
            raise TransientSendError(f"{error} (again, with a freshly fetched token)") from error

    @staticmethod
    async def _call(pending: Awaitable[Any]) -> Any:
        try:
            response = await pending
        except Exception as error:  # httpx errors, timeouts, malformed answers
            raise TransientSendError(f"Feishu call failed: {type(error).__name__}: {error}") from error
        raw = response.raw
        status = raw.status_code if raw is not None else 0
        headers = {k.lower(): v for k, v in (raw.headers or {}).items()} if raw is not None else {}
        # `get_log_id()` looks up "X-Tt-Logid", but the SDK copies httpx's lower-cased headers.
        log_id = response.get_log_id() or headers.get("x-tt-logid")
        problem = classify(status, response.code, str(response.msg or ""), log_id, headers)
        if problem is not None:
            raise problem
        return response


class ConsoleSink:
    """Prints what would be sent, readably, for local runs and the demo without credentials."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._count = 0

    def _next_id(self) -> str:
        self._count += 1
        return f"console_{int(time.time())}_{self._count}"

    async def send_card(self, chat_id: str, card: Card, uuid: str) -> str:
        self._print(f"card to chat {chat_id}", card)
        return self._next_id()

    async def reply_card(self, message_id: str, card: Card, uuid: str, in_thread: bool) -> str:
        self._print(f"reply to {message_id}", card)
        return self._next_id()

    async def patch_card(self, message_id: str, card: Card) -> None:
        self._print(f"update of {message_id}", card)

    def _print(self, what: str, card: Card) -> None:
        print(render_text(what, card), file=self._out, flush=True)


def render_text(what: str, card: Card) -> str:
    """A card as plain terminal text: a framed title and its markdown lines."""
    title = str(card.get("header", {}).get("title", {}).get("content", ""))
    lines: list[str] = []
    for element in card.get("elements", []):
        if element.get("tag") == "div":
            lines.extend(str(element["text"]["content"]).replace(AT_ALL, "@all").splitlines())
        elif element.get("tag") == "action":
            lines.append(
                "  ".join(f"[{a['text']['content']}] {a.get('url', '')}" for a in element["actions"])
            )
        elif element.get("tag") == "note":
            lines.append(" ".join(str(e.get("content", "")) for e in element["elements"]))
    width = max([len(title) + 4, *(min(len(line), 100) + 4 for line in lines), 40])
    rule = "─" * width
    colour = card.get("header", {}).get("template", "")
    body = "\n".join(f"│ {line}" for line in lines)
    return f"┌{rule}\n│ {what} · {colour}\n│ {title}\n├{rule}\n{body}\n└{rule}"
