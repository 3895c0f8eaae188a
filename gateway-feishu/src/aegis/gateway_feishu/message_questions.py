"""Which Feishu messages become questions, and the `QuestionEvent` each one becomes.

Pure: the same event always yields the same decision, whichever transport brought it and
however often it is re-delivered. In groups only messages that @ this bot count; in one-to-one
chats every readable message does; chats outside the allow-list never do. An @ with no words is
still a question (the answer is usage help), so the asker always hears back.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from aegis.gateway_feishu.decisions import Ignored, request_id_for
from aegis.gateway_feishu.events import MessageReceived
from aegis.gateway_feishu.message_text import mentions_bot, readable_text
from aegis.gateway_feishu.question_scope import model_from_text, services_from_text, window_from_text
from aegis.shared.questions import Asker, QuestionEvent, ReplyTo

MAX_TEXT = 4000  # QuestionEvent.text's limit


@dataclass(frozen=True)
class ChatPolicy:
    """Who the bot is and where it answers."""

    bot_open_id: str
    allowed_chat_ids: frozenset[str] | None = None
    known_services: tuple[str, ...] = ()


def question_from_message(
    received: MessageReceived, policy: ChatPolicy, arrived_at: datetime | None = None
) -> QuestionEvent | Ignored:
    """The question this message asks, or why it asks none."""
    message = received.event.message
    sender = received.event.sender
    if policy.allowed_chat_ids is not None and message.chat_id not in policy.allowed_chat_ids:
        return Ignored("chat_not_allowed", message.chat_id)
    if sender is not None and sender.sender_type == "app":
        return Ignored("from_app", message.chat_id)
    if message.chat_type != "p2p" and not mentions_bot(message, policy.bot_open_id):
        return Ignored("not_mentioned", message.chat_id)
    text = readable_text(message, policy.bot_open_id)
    if text is None:
        return Ignored("unreadable_message", message.chat_id)
    asked_at = received.asked_at or arrived_at or datetime.now(UTC)
    ids = sender.sender_id if sender is not None else None
    window, window_chosen = window_from_text(text, asked_at)
    return QuestionEvent(
        request_id=request_id_for(received.header.event_id),
        source="feishu",
        text=text[:MAX_TEXT],
        services=services_from_text(text, policy.known_services),
        window=window,
        window_chosen=window_chosen,
        model=model_from_text(text),
        reply_to=ReplyTo(chat_id=message.chat_id, message_id=message.message_id, thread_id=message.thread_id),
        asker=Asker(open_id=ids.open_id, user_id=ids.user_id) if ids is not None else None,
        # The first message of a thread is its root; every reply names that root, so a follow-up
        # in the thread shares the conversation (and its memory) with the question that began it.
        conversation_key=f"{message.chat_id}:{message.root_id or message.message_id}",
        created_at=asked_at,
    )
