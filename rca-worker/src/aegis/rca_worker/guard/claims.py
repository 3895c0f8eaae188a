"""Finding claims of having changed something, in Chinese and English, and rewriting them for a human.

Aegis reads; it never restarts, scales, rolls back or deletes anything. A model may still write "我
已经重启了 payment 服务", "payment has been restarted", "Rollback complete" or "Ran `kubectl …`".
Such a sentence is replaced by a recommendation that a human decide, naming the same action and the
services it mentioned, so the reader keeps the idea and loses the lie.

Claims come in a few grammatical kinds, and each kind is one pattern here rather than a list of
sentences: an actor (I, we, Aegis, 我, 我们) doing an action; an action presented as done (已…,
…了, 完成, "was/has been …ed"); an action opening the sentence in the past tense ("Restarted
payment", "Ran `kubectl …`"); a remediation declared complete ("Rollback complete", "回滚完成");
and execution markers ("(已执行)", "执行了 kubectl"). Observations — "payment restarted 3 times",
"重启次数 0→3", "was OOM-killed by the kubelet" — and recommendations ("建议人工重启") are not claims.
"""

import re
from dataclasses import dataclass

from aegis.shared.messages import message
from aegis.shared.service_names import services_named
from aegis.shared.settings import Locale

# (Chinese pattern, English past/participle forms, English base and -ing forms, `action.<key>` message)
_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("重启|重新启动", r"restarted|rebooted|bounced", r"restart(?:ing)?|reboot(?:ing)?", "restart"),
    (
        "扩容|缩容|扩缩容|伸缩",
        r"scaled(?:\s+(?:up|down|out|in))?|resized",
        r"scal(?:e|ing)(?:\s+(?:up|down|out|in))?|resiz(?:e|ing)",
        "scale",
    ),
    (
        "回滚|回退|还原",
        r"rolled[\s-]*back|reverted|downgraded",
        r"roll(?:ing)?[\s-]*back|revert(?:ing)?|downgrad(?:e|ing)",
        "roll_back",
    ),
    (
        "删除|删掉|清除|清理|杀掉|杀死|终止|驱逐|下线",
        r"deleted|removed|killed|terminated|evicted|purged|flushed|dropped|truncated|wiped|destroyed",
        r"delet(?:e|ing)|remov(?:e|ing)|kill(?:ing)?|terminat(?:e|ing)|evict(?:ing)?|purg(?:e|ing)|"
        r"flush(?:ing)?|drop(?:ping)?|truncat(?:e|ing)|wip(?:e|ing)|destroy(?:ing)?",
        "delete",
    ),
    (
        "排空|封锁|隔离",
        r"drained|(?:un)?cordoned|tainted",
        r"drain(?:ing)?|(?:un)?cordon(?:ing)?",
        "drain",
    ),
    (
        "打补丁|重新部署|部署|发布|升级|迁移|切换|切流",
        r"patched|re-?deployed|deployed|applied|upgraded|migrated|failed\s+over|switched\s+over|recreated",
        r"patch(?:ing)?|re-?deploy(?:ing)?|deploy(?:ing)?|apply(?:ing)?|upgrad(?:e|ing)|migrat(?:e|ing)|"
        r"fail(?:ing)?\s+over|recreat(?:e|ing)",
        "redeploy",
    ),
    (
        "修复|修改|调整|调大|调小|停止|停用|禁用|启用|重置",
        r"fixed|mitigated|changed|modified|updated|increased|decreased|raised|lowered|stopped|disabled|"
        r"enabled|cleared",
        r"fix(?:ing)?|mitigat(?:e|ing)|chang(?:e|ing)|modify(?:ing)?|updat(?:e|ing)|increas(?:e|ing)|"
        r"decreas(?:e|ing)|rais(?:e|ing)|lower(?:ing)?|stop(?:ping)?|disabl(?:e|ing)|enabl(?:e|ing)|reset(?:ting)?",
        "change",
    ),
    ("执行|运行", r"executed|ran", r"execut(?:e|ing)|run(?:ning)?", "carry_out"),
)
_ZH_ACT = "|".join(zh for zh, _, _, _ in _ACTIONS)
_ZH_STRONG = "|".join(zh for zh, _, _, _ in _ACTIONS[:-2])  # 修改/执行 are also nouns: only after 已
_EN_PAST = "|".join(past for _, past, _, _ in _ACTIONS)
_EN_ANY = "|".join(f"{past}|{base}" for _, past, base, _ in _ACTIONS)
_NO_STOP = r"[^。！？；，,、\n]"
_I = re.IGNORECASE

# Words between an actor and an action that make the sentence a hedge, an observation or a refusal.
_EN_HEDGE = (
    r"recommend\w*|suggest\w*|advis\w*|propos\w*|think|believe|would|could|should|might|may|can|cannot|"
    r"can't|don't|do|did|didn't|not|never|no|human|someone|you|operator|if|whether|see|saw|notic\w*|"
    r"observ\w*|found|find|show\w*|look\w*|check\w*|only|read-only|want|need"
)
_ZH_HEDGE = r"建议|认为|觉得|推荐|应该|应当|需要|可以|可能|不|没|未|无法|看到|发现|观察|注意|只读|请"
_COUNT = re.compile(
    r"\d+\s*(?:次|回|times?\b|x\b)|\b(?:repeatedly|several times|multiple times)\b|多次|反复", _I
)
# Who else restarts or kills things on their own: those sentences are observations of the cluster.
_BY_THE_CLUSTER = re.compile(
    r"\bby\s+(?:the\s+)?(?:kubelet|kubernetes|k8s|scheduler|oom[\s-]*killer|kernel|hpa|autoscaler|"
    r"controller|liveness probe|system)|被\s*(?:kubelet|k8s|kubernetes|OOM|oom|内核|调度器|HPA|hpa|系统)",
    _I,
)

_EN_ACTOR = re.compile(
    rf"\b(?:I|we|Aegis|the assistant|the bot)\b"
    rf"(?:(?!\s*(?:{_EN_HEDGE})\b)(?:\s*['’]\w+|\s+[\w-]+|\s*,)){{0,5}}?"
    rf"\s+(?:{_EN_ANY})\b(?!\s+(?:nothing|anything)\b)",
    _I,
)
_EN_LET_ME = re.compile(rf"\blet me\s+(?:{_EN_ANY})\b", _I)
_EN_PASSIVE = re.compile(
    rf"\b(?:is|are|was|were|has been|have been|had been|got|gets|been|being)"
    rf"(?:\s+(?:\w+ly|already|now|just|also|all|then|fully))*\s+(?:{_EN_PAST}|run|set|reset)\b",
    _I,
)
_EN_OPENING = re.compile(
    rf"^[\W\d_]*(?:(?:done|ok|okay|success)\s*[:,—-]\s*)?(?:successfully\s+|just\s+|already\s+)?(?:{_EN_PAST})\b"
    rf"(?!\s+(?:pods?|containers?|instances?|replicas?|nodes?|services?)\s+(?:of|in|on|show|are|were|have|had|keep)\b)",
    _I,
)
_EN_COMPLETE = re.compile(
    r"\b(?:rollback|roll-back|restart|reboot|redeploy(?:ment)?|deletion|drain(?:ing)?|cordon(?:ing)?|"
    r"scale[\s-]?(?:up|down|out|in)|scaling|fix|mitigation|remediation|failover|patch|command|operation|"
    r"change)\s+(?:is\s+|was\s+|has\s+been\s+|have\s+been\s+)?(?:now\s+|successfully\s+|fully\s+)?"
    r"(?:complete[d]?|done|finished|succeeded|successful|applied|executed|in place)\b",
    _I,
)
_EN_MARKER = re.compile(r"[(\[]\s*(?:executed|done|applied|ran|completed)\s*[)\]]|✅|✔", _I)

_ZH_DONE = re.compile(
    rf"(?:已经?|刚刚?|刚才|成功(?:地)?)\s*(?:(?:帮|为|给)(?:您|你)|对)?\s*(?:{_ZH_ACT})"
    rf"|(?:已经?|刚刚?|成功)(?:将|把|对|为|帮|被)?{_NO_STOP}{{0,12}}?(?:{_ZH_STRONG})"
)
_ZH_PERFECT = re.compile(
    rf"(?:{_ZH_STRONG})(?:了|过了|完了|好了)(?!\s*\d|多少)|(?:{_ZH_ACT})(?:完成|完毕|成功|结束)(?!率)"
)
_ZH_PASSIVE = re.compile(rf"被\s*{_NO_STOP}{{0,6}}?(?:{_ZH_STRONG})")
_ZH_EXECUTED = re.compile(
    rf"(?:执行|运行)了{_NO_STOP}{{0,8}}?(?:kubectl|helm|命令|操作|脚本|`|{_ZH_STRONG})|[（(]\s*已?(?:执行|完成|处理)\s*[）)]",
    _I,
)
_ZH_ACTOR = re.compile(
    rf"(?:我们|本助手|Aegis|我(?!们))\s*(?:(?!{_ZH_HEDGE}){_NO_STOP}){{0,16}}?(?:{_ZH_ACT})", _I
)
# Claims whatever else the sentence says; and claims unless the sentence counts events or names the
# cluster itself as the one that acted (then it reports what happened).
_ALWAYS = (_EN_ACTOR, _EN_LET_ME, _ZH_ACTOR, _EN_COMPLETE, _EN_MARKER, _ZH_EXECUTED, _EN_OPENING)
_UNLESS_OBSERVED = (_EN_PASSIVE, _ZH_DONE, _ZH_PERFECT, _ZH_PASSIVE)
# A sentence ends at a Chinese or English terminator; a dot followed by a non-space (0.5%, 10.0.1.2)
# does not end it.
_SENTENCE = re.compile(r"(?:[^。！？!?；;\n.]|\.(?=\S))*(?:[。！？!?；;.]+|\n|$)[ \t]*")


@dataclass(frozen=True)
class Rewrite:
    """Text after rewriting, and the sentences that claimed a change."""

    text: str
    claims: list[str]


def claims_change(sentence: str) -> bool:
    """Whether `sentence` presents a change as done (or about to be done) by Aegis or on its behalf."""
    if any(pattern.search(sentence) for pattern in _ALWAYS):
        return True
    if _COUNT.search(sentence) or _BY_THE_CLUSTER.search(sentence):
        return False
    return any(pattern.search(sentence) for pattern in _UNLESS_OBSERVED)


def _action_of(sentence: str, locale: Locale) -> str:
    for zh_pattern, past, base, key in _ACTIONS:
        if re.search(rf"{zh_pattern}|\b(?:{past}|{base})\b", sentence, _I):
            return message(locale, f"action.{key}")
    return message(locale, "action.change")


def recommendation(sentence: str, services: set[str], locale: Locale) -> str:
    """The claim as a recommendation for a human, with the action and the services it named."""
    action = _action_of(sentence, locale)
    named = sorted(services_named(sentence, services))
    target = " " + message(locale, "list.and").join(named) if named else ""
    return message(locale, "guard.recommendation", action=action, target=target)


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
