"""Finding claims of having changed something, in Chinese and English, and rewriting them for a human.

Aegis reads; it never restarts, scales, rolls back or deletes anything. A model may still write "我
已经重启了 payment 服务" or "I scaled checkout up". Such a sentence is replaced by a recommendation
that a human decide, naming the same action and the services it mentioned, so the reader keeps the
idea and loses the lie. Observations ("payment restarted 3 times", "重启次数 0→3") are not claims.
"""

import re
from dataclasses import dataclass

from aegis.shared.settings import Locale

# (pattern of the action, as a human would be asked to do it: zh, en). The last two are "weak": in
# Chinese they are also nouns (变更 = a change), so they count only right after 已/刚 or a first person.
_ACTIONS: tuple[tuple[str, str, str], ...] = (
    (r"重启|重新启动|restart(?:ed|ing|s)?|reboot(?:ed|ing|s)?|bounced?", "重启", "restart"),
    (r"扩容|缩容|扩缩容|scal(?:ed|ing|es|e)(?:\s+(?:up|down|out|in))?", "扩缩容", "scale"),
    (r"回滚|roll(?:ed|ing|s)?\s*back|rollback|revert(?:ed|ing|s)?", "回滚", "roll back"),
    (r"删除|delet(?:ed|ing|es|e)|remov(?:ed|ing|es|e)|kill(?:ed|ing|s)?", "删除", "delete"),
    (r"排空|drain(?:ed|ing|s)?", "排空节点", "drain"),
    (r"封锁|(?:un)?cordon(?:ed|ing|s)?", "隔离节点", "cordon"),
    (r"打补丁|patch(?:ed|ing|es)?", "修改配置", "patch"),
    (r"重新部署|(?:re)?deploy(?:ed|ing|s)?|appl(?:ied|ying|ies|y)", "重新部署", "redeploy"),
    (r"驱逐|evict(?:ed|ing|s)?|terminat(?:ed|ing|es|e)", "驱逐", "evict"),
    (
        r"修复|修改|变更|调整|fix(?:ed|ing|es)?|mitigat(?:ed|ing|es|e)|chang(?:ed|ing|es|e)|"
        r"modif(?:ied|ying|ies|y)|updat(?:ed|ing|es|e)|increas(?:ed|ing|es|e)|decreas(?:ed|ing|es|e)",
        "调整",
        "change",
    ),
    (r"执行", "执行该操作", "carry out this change"),
)
_ACTION = "|".join(f"(?:{pattern})" for pattern, _, _ in _ACTIONS)
_STRONG = "|".join(f"(?:{pattern})" for pattern, _, _ in _ACTIONS[:-2])
_NO_STOP = r"[^。！？；，,、\n]"

_ZH_DONE = re.compile(
    rf"(?:已经?|刚刚?|刚才|成功(?:地)?)\s*(?:(?:帮|为|给)(?:您|你)|对)?\s*(?:{_ACTION})"
    rf"|(?:已经?|刚刚?|成功)(?:将|把|对|为|帮)?{_NO_STOP}{{0,12}}?(?:{_STRONG})"
)
_ZH_ACTOR = re.compile(
    rf"(?:我们|本助手|Aegis|我(?!们))\s*(?!建议){_NO_STOP}{{0,16}}?(?:{_ACTION})", re.IGNORECASE
)
_EN_ACTOR = re.compile(
    rf"\b(?:I|we|Aegis|the assistant)(?:'ve|'ll|'m| have| has| will| am| are| just| already| now|"
    rf" successfully| went ahead and| have already| am going to| are going to)*\s+(?:{_ACTION})\b",
    re.IGNORECASE,
)
_EN_LET_ME = re.compile(rf"\blet me\s+(?:{_ACTION})\b", re.IGNORECASE)
_EN_DONE = re.compile(
    rf"\b(?:has|have) (?:already |now |just )?been (?:{_ACTION})\b"
    rf"|\b(?:successfully|already) (?:{_ACTION})\b",
    re.IGNORECASE,
)
_CLAIMS = (_ZH_DONE, _ZH_ACTOR, _EN_ACTOR, _EN_LET_ME, _EN_DONE)
# A sentence ends at a Chinese or English terminator; a dot followed by a non-space (0.5%, 10.0.1.2)
# does not end it.
_SENTENCE = re.compile(r"(?:[^。！？!?；;\n.]|\.(?=\S))*(?:[。！？!?；;.]+|\n|$)[ \t]*")


@dataclass(frozen=True)
class Rewrite:
    """Text after rewriting, and the sentences that claimed a change."""

    text: str
    claims: list[str]


def claims_change(sentence: str) -> bool:
    """Whether `sentence` says Aegis (or "I"/"we") changed, or will change, something."""
    return any(pattern.search(sentence) for pattern in _CLAIMS)


def _action_of(sentence: str, locale: Locale) -> str:
    for pattern, zh, en in _ACTIONS:
        if re.search(pattern, sentence, re.IGNORECASE):
            return zh if locale == "zh" else en
    return "调整" if locale == "zh" else "change"


def recommendation(sentence: str, services: set[str], locale: Locale) -> str:
    """The claim as a recommendation for a human, with the action and the services it named."""
    action = _action_of(sentence, locale)
    named = sorted(s for s in services if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", sentence))
    target = (" " + "、".join(named) if locale == "zh" else " " + ", ".join(named)) if named else ""
    if locale == "zh":
        return f"建议人工评估是否需要{action}{target}（Aegis 只读，未做任何变更）。"
    return f"Recommend a human decide whether to {action}{target} (Aegis is read-only and changed nothing)."


def rewrite_claims(text: str, services: set[str], locale: Locale) -> Rewrite:
    """`text` with every sentence claiming a change replaced by a recommendation for a human."""
    out: list[str] = []
    claims: list[str] = []
    for sentence in (piece for piece in _SENTENCE.findall(text) if piece):
        if claims_change(sentence):
            claims.append(sentence.strip())
            trailing = sentence[len(sentence.rstrip()) :]
            out.append(recommendation(sentence, services, locale) + trailing)
        else:
            out.append(sentence)
    return Rewrite("".join(out) if claims else text, claims)
