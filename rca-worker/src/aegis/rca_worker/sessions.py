"""Conversation memory: the last scope asked about in a chat thread, shared by every replica.

A follow-up ("那 checkout 呢？", "what about the last hour?") is usually taken by another replica
than the question before it, so the scope lives in the `aegis_sessions` KV bucket (24 h TTL), keyed
by the conversation. Keys are made safe for NATS KV, and a hash keeps distinct conversations apart
after the unsafe characters are replaced.
"""

import hashlib
import re
from datetime import UTC, datetime

import structlog
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, Field, ValidationError

from aegis.shared.questions import ModelAlias

log = structlog.get_logger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_=-]")


class SessionScope(BaseModel):
    """What the previous question of a conversation looked at."""

    services: list[str] = Field(default_factory=list)
    window_s: float
    model: ModelAlias
    request_id: str
    saved_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def session_key(conversation_key: str) -> str:
    """A NATS KV key for the conversation: `conv.<safe prefix>.<hash>`, only `[A-Za-z0-9_=-.]`."""
    safe = _UNSAFE.sub("_", conversation_key)[:80] or "_"
    digest = hashlib.sha256(conversation_key.encode()).hexdigest()[:16]
    return f"conv.{safe}.{digest}"


class SessionMemory:
    """Reads and writes `SessionScope`s; a KV outage only costs the follow-up its memory."""

    def __init__(self, bucket: KeyValue) -> None:
        self._bucket = bucket

    async def recall(self, conversation_key: str) -> SessionScope | None:
        """The previous scope of this conversation, if one is remembered."""
        try:
            entry = await self._bucket.get(session_key(conversation_key))
        except KeyNotFoundError:
            return None
        except (NatsError, TimeoutError) as error:
            log.warning("session memory unavailable", error=str(error) or type(error).__name__)
            return None
        try:
            return SessionScope.model_validate_json(entry.value or b"")
        except ValidationError:
            return None

    async def remember(self, conversation_key: str, scope: SessionScope) -> None:
        """Store `scope` as this conversation's latest."""
        try:
            await self._bucket.put(session_key(conversation_key), scope.model_dump_json().encode())
        except (NatsError, TimeoutError) as error:
            log.warning("session memory not saved", error=str(error) or type(error).__name__)
