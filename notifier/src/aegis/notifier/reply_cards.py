"""Cards for the question flow: "analysing…", its progress, and the answer (or the failure).

Pure functions from the shared events to card JSON. Everything that comes from the analysis is
escaped (hypotheses and excerpts may quote log lines), and evidence gets a link for a human when
the Grafana or Jaeger UI base URL is configured. Like alert cards, each is cut shorter (fewer
evidence lines first, then every text) until it fits Feishu's 30 KB.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from aegis.notifier.cards import Card, card_frame, cut, escape, markdown, note, shortened
from aegis.shared.messages import message
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import AnalysisStep, Evidence, RcaProgress, RcaResult
from aegis.shared.settings import Locale

STEPS: tuple[AnalysisStep, ...] = ("scope", "collect", "rank", "reason", "guard")
MAX_EVIDENCE = 4


@dataclass(frozen=True)
class LinkOptions:
    """UI base URLs for evidence links; None leaves evidence without a link."""

    grafana_base_url: str | None = None
    jaeger_ui_base_url: str | None = None


def render_ack_card(question: QuestionEvent, progress: Sequence[RcaProgress], locale: Locale) -> Card:
    """The "analysing…" card, with the steps done so far."""
    return shortened(lambda scale: _ack_card(question, progress, locale, scale))


def _ack_card(question: QuestionEvent, progress: Sequence[RcaProgress], locale: Locale, scale: float) -> Card:
    done = {p.step: p for p in progress}
    lines = [f"> {escape(question.text, cut(300, scale))}"] if question.text else []
    for step in STEPS:
        seen = done.get(step)
        if seen is None:
            continue
        mark = {"started": "…", "done": "✓", "failed": "✗"}[seen.status]
        detail = f" — {escape(seen.message, cut(160, scale))}" if seen.message else ""
        lines.append(f"{mark} {message(locale, 'step.' + step)}{detail}")
    return card_frame(message(locale, "reply_card.analysing"), "blue", [markdown("\n".join(lines) or "…")])


def evidence_link(evidence: Evidence, links: LinkOptions) -> str | None:
    """The evidence's own link, else one built from the configured UIs."""
    if evidence.link:
        return evidence.link
    if evidence.kind == "trace" and links.jaeger_ui_base_url:
        trace_id = evidence.query.removeprefix("trace ").strip()  # the engine writes "trace <id>"
        return f"{links.jaeger_ui_base_url.rstrip('/')}/trace/{quote(trace_id, safe='')}"
    if evidence.kind in ("metric", "log") and links.grafana_base_url:
        pane = {"queries": [{"refId": "A", "expr": evidence.query}], "range": {"from": "now-1h", "to": "now"}}
        encoded = quote(json.dumps(pane, separators=(",", ":")), safe="")
        return f"{links.grafana_base_url.rstrip('/')}/explore?left={encoded}"
    return None


def _evidence_line(evidence: Evidence, links: LinkOptions, scale: float) -> str:
    query, excerpt = escape(evidence.query, cut(300, scale)), escape(evidence.excerpt, cut(300, scale))
    line = f"- {evidence.kind}: `{query}` → {excerpt}"
    if link := evidence_link(evidence, links):
        line += f" [↗]({link})"
    return line


def render_result_card(result: RcaResult, links: LinkOptions, locale: Locale) -> Card:
    """The answer: summary, ranked candidates with evidence, next actions, model, time, caveats."""
    return shortened(lambda scale: _result_card(result, links, locale, scale))


def _result_card(result: RcaResult, links: LinkOptions, locale: Locale, scale: float) -> Card:
    if result.failed:
        body = [escape(result.summary, cut(2000, scale))]
        if result.degraded_reason:
            body.append(escape(result.degraded_reason, cut(1000, scale)))
        return card_frame(
            message(locale, "reply_card.failed"), "red", [markdown("\n".join(body)), _footer(result, locale)]
        )
    evidence_shown = round(MAX_EVIDENCE * scale)
    elements = [markdown(f"**{escape(result.summary, cut(1000, scale))}**")]
    for candidate in result.root_causes:
        lines = [
            f"**#{candidate.rank} {escape(candidate.service, 80)}** · "
            f"{message(locale, 'reply_card.confidence')} {candidate.confidence:.0%}",
            escape(candidate.hypothesis, cut(600, scale)),
            *(_evidence_line(e, links, scale) for e in candidate.evidence[:evidence_shown]),
        ]
        elements.append(markdown("\n".join(lines)))
    if result.next_actions:
        actions = "\n".join(
            f"{i}. {escape(a, cut(300, scale))}" for i, a in enumerate(result.next_actions, 1)
        )
        elements.append(markdown(f"**{message(locale, 'reply_card.actions')}**\n{actions}"))
    if result.evidence_gaps:
        gaps = "\n".join(f"- {escape(g, cut(200, scale))}" for g in result.evidence_gaps[:6])
        elements.append(markdown(f"**{message(locale, 'reply_card.gaps')}**\n{gaps}"))
    if result.model_contribution:
        elements.append(markdown(f"🤖 {escape(result.model_contribution, cut(300, scale))}"))
    if result.degraded:
        reason = escape(result.degraded_reason or "", cut(300, scale))
        elements.append(markdown(f"{message(locale, 'reply_card.degraded')}: {reason}"))
    elements.append(_footer(result, locale))
    return card_frame(message(locale, "reply_card.answer"), "orange" if result.degraded else "blue", elements)


def _footer(result: RcaResult, locale: Locale) -> Card:
    took = result.timings.get("total_ms", 0) / 1000
    model, spent = message(locale, "reply_card.model"), message(locale, "reply_card.took")
    line = f"{model} {result.model} · {spent} {took:.1f}s · {result.request_id}"
    return note(line)
