"""Whom a card @s: route users turned into Feishu mentions, emails looked up in the contact API.

A route names users by open_id (`ou_…`), user_id, or email. Ids become `<at id=…></at>` as they
are; an email is resolved to an open_id through `POST /open-apis/contact/v3/users/batch_get_id`
(read-only scope `contact:user.id:readonly`) and cached, found or not. A user who cannot be
resolved — unknown email, missing scope, Feishu down — is named in plain text, never dropped, and
the card is never held back for a lookup.
"""

import asyncio
import re
import time
from collections.abc import Sequence
from typing import Protocol

import structlog

from aegis.notifier.cards import escape
from aegis.notifier.routing import Target
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.lark_sdk import load_lean

load_lean()

from lark_oapi.api.contact.v3 import (  # noqa: E402 - after load_lean(), which keeps the SDK lean
    BatchGetIdUserRequest,
    BatchGetIdUserRequestBody,
)
from lark_oapi.api.contact.v3.resource.user import User  # noqa: E402
from lark_oapi.core.model import Config  # noqa: E402
from lark_oapi.core.token import TokenManager  # noqa: E402

log = structlog.get_logger("aegis.notifier.mentions")

_USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
BATCH_LIMIT = 50  # emails per batch_get_id call (Feishu's limit)


class ContactDirectory(Protocol):
    async def open_ids(self, emails: Sequence[str]) -> dict[str, str | None]:
        """Each email's open_id, None when Feishu knows no such user; raises when it cannot say."""
        ...


class FeishuContacts:
    """The contact API through lark-oapi (`user.abatch_get_id`), open_ids out."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._users = User(config)

    async def open_ids(self, emails: Sequence[str]) -> dict[str, str | None]:
        await asyncio.to_thread(TokenManager.get_self_tenant_token, self._config)
        found: dict[str, str | None] = dict.fromkeys(emails)
        for start in range(0, len(emails), BATCH_LIMIT):
            request = (
                BatchGetIdUserRequest.builder()
                .user_id_type("open_id")
                .request_body(
                    BatchGetIdUserRequestBody.builder()
                    .emails(list(emails[start : start + BATCH_LIMIT]))
                    .build()
                )
                .build()
            )
            response = await self._users.abatch_get_id(request)
            if response.code != 0:
                raise LookupError(f"contact API answered code {response.code}: {response.msg}")
            for user in (response.data.user_list if response.data else None) or []:
                if user.email and user.user_id:
                    found[user.email] = user.user_id
        return found


def mention_markup(user: str, open_id: str | None) -> str:
    """`<at id=…></at>` for a known id, else the name as inert text."""
    if open_id:
        return f"<at id={open_id}></at>"
    return f"@{escape(user, 120)}"


class MentionResolver:
    """Turns a target's users into card mentions, caching email lookups for `ttl_s`."""

    def __init__(self, directory: ContactDirectory | None, ttl_s: float = 3600.0) -> None:
        self._directory = directory
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def mentions(self, target: Target, event: AlertGroupEvent) -> tuple[str, ...]:
        """The mention markup for `event`'s card in `target`'s chat (none once resolved)."""
        if event.status != "firing":
            return ()
        users = target.mention.who(event.common_labels or event.alerts[0].labels)
        emails = [u for u in users if _EMAIL.match(u)]
        known = await self._lookup(emails)
        markup = []
        for user in users:
            if user in known:
                markup.append(mention_markup(user, known[user]))
            elif _USER_ID.match(user):
                markup.append(mention_markup(user, user))
            else:
                markup.append(mention_markup(user, None))
        return tuple(markup)

    async def _lookup(self, emails: list[str]) -> dict[str, str | None]:
        now = time.monotonic()
        known = {e: hit[0] for e in emails if (hit := self._cache.get(e)) and hit[1] > now}
        missing = [e for e in emails if e not in known]
        if not missing:
            return known
        if self._directory is None:
            return {**known, **dict.fromkeys(missing)}
        try:
            found = await self._directory.open_ids(missing)
        except Exception as error:  # noqa: BLE001 - a lookup never holds back the card
            log.warning(
                "contact lookup failed; naming users in plain text", error=str(error), users=len(missing)
            )
            return {**known, **dict.fromkeys(missing)}
        for email in missing:
            self._cache[email] = (found.get(email), now + self._ttl_s)
        return {**known, **{e: found.get(e) for e in missing}}
