"""Feishu interactive cards for alert groups: one card per group, or a digest in a storm.

Pure functions from `AlertGroupEvent` to card JSON (schema 1.0, `update_multi` so a resolve can
patch the card in place). Alert text is untrusted: `<` and `>` are escaped so an annotation
cannot mention people or inject markup. Escaping grows `&` fivefold, so every card is rendered
with shorter and shorter cuts (`shortened`) until its request body fits Feishu's 30 KB: long
values end in a visible "…", the card is never lost. A group that does not let the bot @all
gets the same card without the mention and a note saying so (`without_mention`).
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aegis.notifier.runbooks import dashboard_url, runbook_url
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.card_actions import (
    ACTION_KEY,
    ALERT_EVENT_ID_KEY,
    ANALYSE,
    CHAT_ID_KEY,
    LABELS_KEY,
    STARTS_AT_KEY,
)
from aegis.shared.claims import claim_button
from aegis.shared.messages import message
from aegis.shared.settings import Locale

Card = dict[str, Any]

KEY_LABELS = ("service", "namespace", "pod", "instance", "job")
MAX_VALUE_CHARS = 600
MAX_ALERTS_LISTED = 8
# Feishu's limit is on the request body (card and post ≤ 30 KB), where the card is a JSON string
# inside JSON; the rest of the body (receive_id, uuid, msg_type) stays well under the margin.
MAX_CARD_BYTES = 30 * 1024 - 512
SCALES = (1.0, 0.5, 0.25, 0.12, 0.05, 0.02)
AT_ALL = "<at id=all></at>"

_SEVERITY_COLOUR = {"critical": "red", "page": "red", "error": "red", "warning": "orange", "info": "blue"}


@dataclass(frozen=True)
class CardOptions:
    """What a card looks like beyond its event: who is mentioned, language, silence base URL."""

    at_all_severities: frozenset[str] | None = None
    locale: Locale = "zh"
    silence_base_url: str | None = None
    chat_id: str | None = None
    mentions: tuple[str, ...] = ()  # markup from `mentions.MentionResolver`, already inert
    recall: str | None = None  # "last time" line from incident memory, already inert


def escape(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Untrusted text made inert for lark_md: no tags (so no `<at>`), bounded length."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return cut.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def colour(event: AlertGroupEvent) -> str:
    """Header template: green when resolved, else by severity."""
    if event.status == "resolved":
        return "green"
    return _SEVERITY_COLOUR.get(event.severity.lower(), "yellow")


def mentions_all(event: AlertGroupEvent, options: CardOptions) -> bool:
    """Firing cards @all when their severity is configured for it."""
    if event.status != "firing":
        return False
    wanted = options.at_all_severities
    return wanted is None or event.severity.lower() in wanted


def silence_url(event: AlertGroupEvent, options: CardOptions) -> str | None:
    """Alertmanager's new-silence page, pre-filled with the group's labels."""
    base = (options.silence_base_url or event.external_url).rstrip("/")
    if not base:
        return None
    labels = event.group_labels or event.common_labels
    matchers = ",".join(f'{name}="{value}"' for name, value in sorted(labels.items()))
    return f"{base}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def cut(limit: int, scale: float) -> int:
    """`limit` characters at `scale`, never below a readable few."""
    return max(8, int(limit * scale))


def shortened(render: Callable[[float], Card]) -> Card:
    """The first rendering, at shrinking scales of every text limit, whose request fits 30 KB."""
    for scale in SCALES:
        card = render(scale)
        if fits(card):
            return card
    return card


def _alert_lines(event: AlertGroupEvent, locale: Locale, headline: str, scale: float) -> list[str]:
    lines = []
    for alert in event.alerts[:MAX_ALERTS_LISTED]:
        icon = "🔥" if alert.status == "firing" else "✅"
        keys = " · ".join(
            f"{name}=`{escape(alert.labels[name], cut(120, scale))}`"
            for name in KEY_LABELS
            if alert.labels.get(name)
        )
        when = f"{message(locale, 'alert_card.started')} {alert.starts_at:%Y-%m-%d %H:%M:%S}Z"
        if alert.ends_at is not None:
            when += f" · {message(locale, 'alert_card.ended')} {alert.ends_at:%H:%M:%S}Z"
        lines.append(f"{icon} **{escape(alert.alertname, cut(120, scale))}** {keys}\n{when}")
        detail = alert.annotations.get("description") or alert.annotations.get("summary") or ""
        if detail and detail != headline:
            lines.append(escape(detail, cut(MAX_VALUE_CHARS, scale)))
    hidden = len(event.alerts) - MAX_ALERTS_LISTED + event.truncated_alerts
    if hidden > 0:
        lines.append(f"_{message(locale, 'alert_card.more', n=hidden)}_")
    return lines


def markdown(content: str) -> Card:
    """A lark_md block; callers escape untrusted parts first."""
    return {"tag": "div", "text": {"tag": "lark_md", "content": content}}


def render_alert_card(event: AlertGroupEvent, options: CardOptions) -> Card:
    """The card for one alert group notification, cut to fit Feishu's 30 KB."""
    return shortened(lambda scale: _alert_card(event, options, scale))


def _alert_card(event: AlertGroupEvent, options: CardOptions, scale: float) -> Card:
    locale = options.locale
    severity = f"[{event.severity.upper()}] " if event.severity else ""
    status, alerts = message(locale, f"alert_card.{event.status}"), message(locale, "alert_card.alerts")
    title = f"{status} {severity}{event.alertname} ({len(event.alerts)} {alerts})"
    body: list[str] = []
    if mentions_all(event, options):
        body.append(AT_ALL)
    if options.mentions and event.status == "firing":
        body.append(" ".join(options.mentions))
    common = event.common_annotations
    headline = common.get("summary") or common.get("description") or ""
    if headline:
        body.append(f"**{escape(headline, cut(MAX_VALUE_CHARS, scale))}**")
    body.extend(_alert_lines(event, locale, headline, scale))
    if options.recall and event.status == "firing":
        body.append(options.recall)
    elements: list[Card] = [markdown("\n".join(body))]
    buttons = []
    if generator := event.alerts[0].generator_url:
        buttons.append(_button(message(locale, "alert_card.source"), generator, "default"))
    if runbook := runbook_url(event):
        buttons.append(_button(message(locale, "alert_card.runbook"), runbook, "default"))
    if dashboard := dashboard_url(event):
        buttons.append(_button(message(locale, "alert_card.dashboard"), dashboard, "default"))
    if event.status == "firing":
        buttons.append(_analyse_button(event, options, message(locale, "alert_card.analyse"), scale))
        buttons.append(claim_button(options.chat_id, locale))
        if silence := silence_url(event, options):
            buttons.append(_button(message(locale, "alert_card.silence"), silence, "danger"))
    if buttons:
        elements.append({"tag": "action", "actions": buttons})
    elements.append(note(f"{event.receiver[: cut(120, scale)]} · {event.event_id[:12]}"))
    return card_frame(escape(title, cut(200, scale)), colour(event), elements)


def render_digest_card(events: Sequence[AlertGroupEvent], options: CardOptions) -> Card:
    """One card listing several alert groups, used when more wait than the chat can take."""
    return shortened(lambda scale: _digest_card(events, options, scale))


def digest_fits_uncut(events: Sequence[AlertGroupEvent], options: CardOptions) -> bool:
    """Whether these groups fit one digest without cutting its lines shorter than usual."""
    return fits(_digest_card(events, options, 1.0))


def _digest_card(events: Sequence[AlertGroupEvent], options: CardOptions, scale: float) -> Card:
    firing = [e for e in events if e.status == "firing"]
    lines = [AT_ALL] if any(mentions_all(e, options) for e in events) else []
    for event in events:
        icon = "🔥" if event.status == "firing" else "✅"
        labels = event.common_labels
        keys = " · ".join(
            f"{name}=`{escape(labels[name], cut(80, scale))}`" for name in KEY_LABELS if labels.get(name)
        )
        summary = event.common_annotations.get("summary", "")
        severity = f"[{escape(event.severity.upper(), 20)}] " if event.severity else ""
        line = f"{icon} {severity}**{escape(event.alertname, cut(100, scale))}** ×{len(event.alerts)} {keys}"
        if summary:
            line += f" — {escape(summary, cut(160, scale))}"
        lines.append(line)
    template = "red" if firing else "green"
    elements = [markdown("\n".join(lines))]
    return card_frame(message(options.locale, "alert_card.digest", n=len(events)), template, elements)


def _analyse_button(event: AlertGroupEvent, options: CardOptions, label: str, scale: float) -> Card:
    """A button whose click reaches gateway-feishu as `card.action.trigger` with this value."""
    size = cut(200, scale)
    value = {
        ACTION_KEY: ANALYSE,
        LABELS_KEY: {k[:size]: v[:size] for k, v in list(event.common_labels.items())[:20]},
        STARTS_AT_KEY: min(alert.starts_at for alert in event.alerts).isoformat(),
        ALERT_EVENT_ID_KEY: event.event_id,
        CHAT_ID_KEY: options.chat_id or "",
    }
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": label},
        "type": "primary",
        "value": value,
    }


def _button(label: str, url: str, kind: str) -> Card:
    return {"tag": "button", "text": {"tag": "plain_text", "content": label}, "url": url, "type": kind}


def card_frame(title: str, template: str, elements: list[Card]) -> Card:
    """A schema-1.0 card that can be patched later (`update_multi`)."""
    return {
        "config": {"wide_screen_mode": True, "update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
        "elements": elements,
    }


def card_json(card: Card) -> str:
    """The card as Feishu's `content` string."""
    return json.dumps(card, ensure_ascii=False, separators=(",", ":"))


def request_bytes(card: Card) -> int:
    """The card's size as Feishu measures it: its `content` string encoded inside the request body."""
    return len(json.dumps(card_json(card), ensure_ascii=False).encode())


def fits(card: Card) -> bool:
    """Whether the card's request stays under Feishu's 30 KB with a margin for the other fields."""
    return request_bytes(card) <= MAX_CARD_BYTES


def note(content: str) -> Card:
    """A small grey line at the foot of a card."""
    return {"tag": "note", "elements": [{"tag": "plain_text", "content": content}]}


def without_mention(card: Card, locale: Locale) -> Card:
    """The same card without its @all, and a note that the group does not let the bot @all."""
    elements: list[Card] = []
    for element in card.get("elements", []):
        if element.get("tag") == "div" and AT_ALL in element["text"]["content"]:
            content = str(element["text"]["content"]).replace(AT_ALL + "\n", "").replace(AT_ALL, "")
            element = markdown(content)
        elements.append(element)
    elements.append(note(message(locale, "alert_card.no_at_all")))
    return {**card, "elements": elements}


def mentions_everyone(card: Card) -> bool:
    """Whether the card @s everyone in the chat."""
    return any(
        element.get("tag") == "div" and AT_ALL in str(element["text"]["content"])
        for element in card.get("elements", [])
    )
