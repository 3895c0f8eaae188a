"""Where cards go: Feishu through the real lark-oapi client, or the console for local runs.

Both speak `CardSink`. Feishu's answers are mapped to three outcomes the delivery loop acts on:
rate-limited (wait the announced reset), transient (redeliver with backoff) and permanent
(dead-letter: retrying cannot help).
"""

import asyncio
import sys
import time
from typing import Any, Protocol, TextIO

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

RATE_LIMITED_CODE = 99991400


class SendError(Exception):
    """A send that did not happen."""


class RateLimited(SendError):
    """Feishu answered 429; nothing may go to that chat for `reset_s` seconds."""

    def __init__(self, reset_s: float) -> None:
        super().__init__(f"rate limited by Feishu for {reset_s:g}s")
        self.reset_s = reset_s


class TransientSendError(SendError):
    """Worth retrying later: a 5xx, a timeout, a connection or token failure."""


class PermanentSendError(SendError):
    """Retrying the same request cannot succeed (bad chat id, bot not in chat, invalid card)."""


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

    async def send_card(self, chat_id: str, card: Card, uuid: str) -> str:
        request = (
            CreateMessageRequest.builder()
            .receive_id_type("chat_id")
            .request_body(
                CreateMessageRequestBody.builder()
                .receive_id(chat_id)
                .msg_type("interactive")
                .content(card_json(card))
                .uuid(uuid)
                .build()
            )
            .build()
        )
        await self._token()
        response = await self._call(self._messages.acreate(request))
        return str(response.data.message_id)

    async def reply_card(self, message_id: str, card: Card, uuid: str, in_thread: bool) -> str:
        request = (
            ReplyMessageRequest.builder()
            .message_id(message_id)
            .request_body(
                ReplyMessageRequestBody.builder()
                .msg_type("interactive")
                .content(card_json(card))
                .uuid(uuid)
                .reply_in_thread(in_thread)
                .build()
            )
            .build()
        )
        await self._token()
        response = await self._call(self._messages.areply(request))
        return str(response.data.message_id)

    async def patch_card(self, message_id: str, card: Card) -> None:
        request = (
            PatchMessageRequest.builder()
            .message_id(message_id)
            .request_body(PatchMessageRequestBody.builder().content(card_json(card)).build())
            .build()
        )
        await self._token()
        await self._call(self._messages.apatch(request))

    @staticmethod
    async def _call(pending: Any) -> Any:
        try:
            response = await pending
        except Exception as error:  # httpx errors, timeouts, malformed answers
            raise TransientSendError(f"Feishu call failed: {type(error).__name__}: {error}") from error
        status = response.raw.status_code if response.raw is not None else 0
        if response.code == 0 and status < 400:
            return response
        if status == 429 or response.code == RATE_LIMITED_CODE:
            headers = {k.lower(): v for k, v in (response.raw.headers or {}).items()}
            try:
                reset = float(headers.get("x-ogw-ratelimit-reset", "1"))
            except ValueError:
                reset = 1.0
            raise RateLimited(max(reset, 0.2))
        if status >= 500 or status == 0:
            raise TransientSendError(f"Feishu answered HTTP {status} code {response.code}: {response.msg}")
        raise PermanentSendError(
            f"Feishu refused the message: HTTP {status} code {response.code}: {response.msg}"
        )


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
