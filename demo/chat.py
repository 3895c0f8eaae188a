"""The fake Feishu chat as an on-call engineer would read it: in the terminal and as a web page.

`ChatView` follows the fake open platform and renders what is new since it last looked: a new
card in full, an update of a card as the lines that changed (the progress of an analysis), and an
update that changes the card's title (the answer replacing "analysing…") in full again.
"""

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aegis.devkit.fakes.feishu import FakeFeishu, FakeMessage
from aegis.notifier.cards import AT_ALL
from aegis.notifier.sinks import render_text


def card_title(content: str) -> str:
    card: dict[str, Any] = json.loads(content)
    return str(card.get("header", {}).get("title", {}).get("content", ""))


def card_lines(content: str) -> list[str]:
    """The card's body lines as `render_text` frames them."""
    rendered = render_text("", json.loads(content)).splitlines()
    return [line for line in rendered[4:-1] if line.startswith("│ ")]


def user_text(message: FakeMessage) -> str:
    return str(json.loads(message.content).get("text", ""))


@dataclass
class ChatView:
    """What has been shown of each message of `chat_id`: its content as last rendered."""

    feishu: FakeFeishu
    chat_id: str
    shown: dict[str, str] = field(default_factory=dict)

    def news(self) -> list[str]:
        """Blocks of terminal text for everything new in the chat since the last call."""
        blocks = []
        messages = sorted(
            (m for m in self.feishu.messages.values() if m.chat_id == self.chat_id),
            key=lambda m: m.created_at,
        )
        for message in messages:
            before, now = self.shown.get(message.message_id), message.current
            if before == now:
                continue
            self.shown[message.message_id] = now
            if message.from_user:
                blocks.append(f"💬 on-call engineer: {user_text(message)}")
            elif before is None or card_title(before) != card_title(now):
                where = "reply in thread" if message.parent_id else "card to the chat"
                blocks.append(render_text(where, json.loads(now)))
            else:
                old = set(card_lines(before))
                blocks.extend(f"  ↻ {line[2:]}" for line in card_lines(now) if line not in old)
        return blocks


def lark_md_html(content: str) -> str:
    """The subset of lark_md the cards use (bold, code, links, @all) as HTML, everything escaped."""
    text = html.escape(content.replace(AT_ALL, "@all"), quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', text)
    return text.replace("\n", "<br>")


def card_html(card: dict[str, Any]) -> str:
    """One interactive card as Feishu lays it out, roughly: header, text blocks, buttons, note."""
    header = card.get("header", {})
    colour = html.escape(str(header.get("template", "blue")))
    parts = [
        f'<div class="head {colour}">{html.escape(str(header.get("title", {}).get("content", "")))}</div>'
    ]
    for element in card.get("elements", []):
        if element.get("tag") == "div":
            parts.append(f"<p>{lark_md_html(str(element['text']['content']))}</p>")
        elif element.get("tag") == "action":
            buttons = [
                f'<a class="btn" href="{html.escape(str(a.get("url") or "#"))}">'
                f"{html.escape(str(a['text']['content']))}</a>"
                for a in element["actions"]
            ]
            parts.append(f'<p class="actions">{"".join(buttons)}</p>')
        elif element.get("tag") == "note":
            note = " ".join(str(e.get("content", "")) for e in element["elements"])
            parts.append(f'<p class="note">{html.escape(note)}</p>')
    return "".join(parts)


def chat_page(feishu: FakeFeishu, chat_id: str, path: Path) -> Path:
    """Write the chat as a static page and return its path."""
    items = []
    for message in sorted(feishu.messages.values(), key=lambda m: m.created_at):
        if message.chat_id != chat_id:
            continue
        if message.from_user:
            text = html.escape(user_text(message).replace("@_user_1", "@Aegis"))
            items.append(f'<div class="msg user"><b>on-call</b><p>{text}</p></div>')
        else:
            reply = " reply" if message.parent_id else ""
            items.append(f'<div class="msg bot{reply}">{card_html(json.loads(message.current))}</div>')
    path.write_text(_PAGE.format(chat=html.escape(chat_id), items="\n".join(items)), encoding="utf-8")
    return path


_PAGE = """<!doctype html><meta charset="utf-8"><title>Aegis demo · {chat}</title>
<style>
body{{font:14px/1.5 system-ui,sans-serif;background:#f2f3f5;max-width:760px;margin:2em auto}}
.msg{{background:#fff;border-radius:8px;margin:12px 0;padding:0 0 8px;box-shadow:0 1px 2px #0002}}
.msg p{{margin:2px 14px;white-space:pre-wrap}} .user{{padding:8px 14px;background:#e1eaff}}
.reply{{margin-left:40px}} .head{{color:#fff;padding:8px 14px;border-radius:8px 8px 0 0;font-weight:600}}
.red{{background:#f54a45}} .orange{{background:#ff8800}} .blue{{background:#3370ff}}
.green{{background:#34c724}} .grey{{background:#8f959e}}
code{{background:#f2f3f5;border-radius:3px;padding:0 3px;font-size:12px}}
.btn{{display:inline-block;border:1px solid #d0d3d6;border-radius:6px;padding:2px 10px;margin-right:8px;
color:#1f2329;text-decoration:none}} .note{{color:#8f959e;font-size:12px}}
</style><h3>Feishu chat {chat} (fake)</h3>
{items}
"""
