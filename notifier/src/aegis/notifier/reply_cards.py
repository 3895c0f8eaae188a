"""Cards for the question flow: "analysing…", its progress, and the answer (or the failure).

Pure functions from the shared events to card JSON. Everything that comes from the analysis is
escaped (hypotheses and excerpts may quote log lines), and evidence gets a link for a human when
the Grafana or Jaeger UI base URL is configured.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from aegis.notifier.cards import Card, card_frame, escape, fits, markdown
from aegis.shared.questions import QuestionEvent
from aegis.shared.rca import AnalysisStep, Evidence, RcaProgress, RcaResult
from aegis.shared.settings import Locale

STEPS: tuple[AnalysisStep, ...] = ("scope", "collect", "rank", "reason", "guard")
MAX_EVIDENCE = 4

_TEXT = {
    "zh": {
        "analysing": "⏳ 正在分析",
        "answer": "🔎 根因分析",
        "failed": "❌ 分析失败",
        "actions": "建议操作（需人工执行，Aegis 不会修改集群）",
        "gaps": "缺失的证据",
        "degraded": "⚠️ 降级回答",
        "model": "模型",
        "took": "耗时",
        "confidence": "置信度",
    },
    "en": {
        "analysing": "⏳ Analysing",
        "answer": "🔎 Root-cause analysis",
        "failed": "❌ Analysis failed",
        "actions": "Next steps for a human (Aegis never changes the cluster)",
        "gaps": "Evidence gaps",
        "degraded": "⚠️ Degraded answer",
        "model": "model",
        "took": "took",
        "confidence": "confidence",
    },
}


_STEP_NAMES: dict[Locale, dict[AnalysisStep, str]] = {
    "zh": {"scope": "确定范围", "collect": "收集证据", "rank": "排序", "reason": "模型推理", "guard": "校验"},
    "en": {
        "scope": "scope",
        "collect": "collect evidence",
        "rank": "rank",
        "reason": "reason",
        "guard": "check",
    },
}


@dataclass(frozen=True)
class LinkOptions:
    """UI base URLs for evidence links; None leaves evidence without a link."""

    grafana_base_url: str | None = None
    jaeger_ui_base_url: str | None = None


def render_ack_card(question: QuestionEvent, progress: Sequence[RcaProgress], locale: Locale) -> Card:
    """The "analysing…" card, with the steps done so far."""
    text = _TEXT[locale]
    done = {p.step: p for p in progress}
    lines = [f"> {escape(question.text, 300)}"] if question.text else []
    for step in STEPS:
        seen = done.get(step)
        if seen is None:
            continue
        mark = {"started": "…", "done": "✓", "failed": "✗"}[seen.status]
        detail = f" — {escape(seen.message, 160)}" if seen.message else ""
        lines.append(f"{mark} {_STEP_NAMES[locale][step]}{detail}")
    return card_frame(text["analysing"], "blue", [markdown("\n".join(lines) or "…")])


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


def _evidence_line(evidence: Evidence, links: LinkOptions) -> str:
    line = f"- {evidence.kind}: `{escape(evidence.query, 300)}` → {escape(evidence.excerpt, 300)}"
    if link := evidence_link(evidence, links):
        line += f" [↗]({link})"
    return line


def render_result_card(result: RcaResult, links: LinkOptions, locale: Locale) -> Card:
    """The answer: summary, ranked candidates with evidence, next actions, model, time, caveats."""
    text = _TEXT[locale]
    if result.failed:
        body = [escape(result.summary, 2000)]
        if result.degraded_reason:
            body.append(escape(result.degraded_reason, 1000))
        return card_frame(text["failed"], "red", [markdown("\n".join(body)), _footer(result, text)])
    evidence_budget = MAX_EVIDENCE
    while True:
        elements = [markdown(f"**{escape(result.summary, 1000)}**")]
        for candidate in result.root_causes:
            lines = [
                f"**#{candidate.rank} {escape(candidate.service, 80)}** · "
                f"{text['confidence']} {candidate.confidence:.0%}",
                escape(candidate.hypothesis, 600),
                *(_evidence_line(e, links) for e in candidate.evidence[:evidence_budget]),
            ]
            elements.append(markdown("\n".join(lines)))
        if result.next_actions:
            actions = "\n".join(f"{i}. {escape(a, 300)}" for i, a in enumerate(result.next_actions, 1))
            elements.append(markdown(f"**{text['actions']}**\n{actions}"))
        if result.evidence_gaps:
            gaps = "\n".join(f"- {escape(g, 200)}" for g in result.evidence_gaps[:6])
            elements.append(markdown(f"**{text['gaps']}**\n{gaps}"))
        if result.model_contribution:
            elements.append(markdown(f"🤖 {escape(result.model_contribution, 300)}"))
        if result.degraded:
            elements.append(markdown(f"{text['degraded']}: {escape(result.degraded_reason or '', 300)}"))
        elements.append(_footer(result, text))
        card = card_frame(text["answer"], "orange" if result.degraded else "blue", elements)
        if fits(card) or evidence_budget == 0:
            return card
        evidence_budget -= 1


def _footer(result: RcaResult, text: dict[str, str]) -> Card:
    took = result.timings.get("total_ms", 0) / 1000
    note = f"{text['model']} {result.model} · {text['took']} {took:.1f}s · {result.request_id}"
    return {"tag": "note", "elements": [{"tag": "plain_text", "content": note}]}
