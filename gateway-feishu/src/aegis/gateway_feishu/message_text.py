"""What a user wrote, as plain text: `text` and rich-text `post` messages, mentions resolved.

Feishu replaces each @ in a message with a placeholder (`@_user_1`) and lists the mentions
beside it. The bot's own placeholder is dropped (it only addresses the question); other people
stay readable as `@name`, since "why did @Li's deploy fail" needs them.
"""

import json
import re
from collections.abc import Iterable
from typing import Any

from aegis.gateway_feishu.events import Mention, Message

READABLE_TYPES = frozenset({"text", "post"})
_PLACEHOLDER = re.compile(r"@_user_\d+|@_all")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")


def mentions_bot(message: Message, bot_open_id: str) -> bool:
    """True when one of the message's @s is this bot."""
    return any(m.id is not None and m.id.open_id == bot_open_id for m in message.mentions)


def readable_text(message: Message, bot_open_id: str) -> str | None:
    """The message as text, or None for types that carry no question (images, stickers, files...)."""
    if message.message_type not in READABLE_TYPES:
        return None
    try:
        content = json.loads(message.content) if message.content else {}
    except ValueError:
        return None
    if not isinstance(content, dict):
        return None
    names = {m.key: _spoken(m, bot_open_id) for m in message.mentions}
    if message.message_type == "text":
        raw = str(content.get("text", ""))
        text = _PLACEHOLDER.sub(lambda found: names.get(found.group(0), ""), raw)
    else:
        text = _post_text(content, names)
    return _tidy(text)


def _spoken(mention: Mention, bot_open_id: str) -> str:
    if mention.id is not None and mention.id.open_id == bot_open_id:
        return ""
    return f"@{mention.name}" if mention.name else ""


def _post_text(content: dict[str, Any], names: dict[str, str]) -> str:
    # Received posts are {"title", "content": [[element, ...], ...]}; posts as sent are wrapped in a
    # locale ({"zh_cn": {...}}), which some clients echo back.
    body = content
    if "content" not in body:
        body = next((v for v in content.values() if isinstance(v, dict) and "content" in v), {})
    lines = [str(body.get("title") or "")]
    paragraphs = body.get("content") or []
    for paragraph in paragraphs if isinstance(paragraphs, list) else []:
        if isinstance(paragraph, list):
            lines.append("".join(_element_text(e, names) for e in paragraph if isinstance(e, dict)))
    return "\n".join(lines)


def _element_text(element: dict[str, Any], names: dict[str, str]) -> str:
    tag = element.get("tag")
    if tag in ("text", "a", "code_block", "md"):
        return str(element.get("text", ""))
    if tag == "at":
        key = str(element.get("user_id", ""))
        if key in names:
            return names[key]
        name = element.get("user_name")
        return f"@{name}" if name and key != "all" else ""
    return ""  # img, media, emotion, hr: nothing a question is made of


def _tidy(text: str) -> str:
    lines: Iterable[str] = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
