"""What a question is about, read from its words: the time window, a model override, services.

People say "过去30分钟", "last 2 hours", "昨晚10点以后", "用 deepseek", "service=payment". The
window is computed against the moment the message was written (not when it arrived: Feishu may
re-deliver hours later) and Chinese wall-clock phrases are read in China's time zone (UTC+8, no
daylight saving). A question that names no window looks at the last 15 minutes. Everything here
is pure; the rca-worker widens the service scope to dependencies itself.
"""

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from aegis.shared.questions import DEFAULT_WINDOW, ModelAlias, TimeWindow
from aegis.shared.service_names import services_named

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
LONGEST_ASKED_WINDOW = timedelta(days=7)  # "过去30天" is read as a week, MAX_LOOKBACK's default

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUMBER = r"\d+(?:\.\d+)?|[零一二两三四五六七八九十]+|半"
_CN_UNITS = {"分钟": 60, "分": 60, "小时": 3600, "钟头": 3600, "个小时": 3600, "天": 86400, "日": 86400}
_EN_UNITS = {"m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600, "d": 86400, "day": 86400}

_CN_RELATIVE = re.compile(
    rf"(?:(?:过去|最近|近|前)\s*(?P<n1>{_NUMBER})\s*(?P<u1>个小时|小时|钟头|分钟|分|天|日)"
    rf"|(?P<n2>{_NUMBER})\s*(?P<u2>个小时|小时|钟头|分钟|天)\s*(?:内|以内|之内|以来))"
)
_EN_RELATIVE = re.compile(
    r"(?<![A-Za-z])(?:(?:in|over|during)\s+the\s+)?(?:last|past|since|within)\s+"
    r"(?P<n>\d+(?:\.\d+)?|an?|one)?\s*(?P<u>m|mins?|minutes?|h|hrs?|hours?|d|days?)(?![A-Za-z])",
    re.IGNORECASE,
)
_CN_CLOCK = re.compile(
    r"(?P<day>前天|昨天|昨日|昨晚|昨夜|今天|今日|今早|今晚)?\s*"
    r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?\s*"
    r"(?:(?P<h>\d{1,2}|[零一二两三四五六七八九十]+)\s*[点時时]\s*(?P<m>半|\d{1,2}\s*分?)?"
    r"|(?P<hh>\d{1,2})[:：](?P<mm>\d{2}))\s*"
    r"(?:以后|之后|以来|开始|起|后)"
)

_MODEL_NAMES: dict[str, ModelAlias] = {
    "qwen": "qwen",
    "通义千问": "qwen",
    "千问": "qwen",
    "glm": "glm",
    "智谱": "glm",
    "deepseek": "deepseek",
    "doubao": "doubao",
    "豆包": "doubao",
    "none": "none",
}
_MODEL_WORD = "|".join(sorted(map(re.escape, _MODEL_NAMES), key=len, reverse=True))
_MODEL_OVERRIDES = (
    re.compile(rf"(?<![A-Za-z])model\s*[=:：]\s*(?P<m>{_MODEL_WORD})", re.IGNORECASE),
    re.compile(rf"(?:用|使用|换成|换用|切换到)\s*(?P<m>{_MODEL_WORD})", re.IGNORECASE),
    re.compile(rf"(?<![A-Za-z])(?:use|using|with)\s+(?P<m>{_MODEL_WORD})(?![A-Za-z])", re.IGNORECASE),
)
_NO_MODEL = re.compile(
    r"(?:不用|不要|别用)\s*(?:大模型|模型|llm|ai)|(?<![A-Za-z])no\s+(?:llm|model)(?![A-Za-z])", re.IGNORECASE
)

_SERVICE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_SERVICE_DIRECTIVE = re.compile(
    rf"(?:(?<![A-Za-z])(?:services?|svc)|服务)\s*[=:：]\s*(?P<names>{_SERVICE_NAME}(?:\s*[,，]\s*{_SERVICE_NAME})*)",
    re.IGNORECASE,
)


def window_from_text(text: str, now: datetime) -> tuple[TimeWindow, bool]:
    """The window the text names (relative or Chinese wall-clock), else the last 15 minutes; and
    whether the text named it (`QuestionEvent.window_chosen`)."""
    start = _relative_start(text, now) or _clock_start(text, now)
    if start is None or start >= now:
        return TimeWindow.last(DEFAULT_WINDOW, now), False
    return TimeWindow(start=max(start, now - LONGEST_ASKED_WINDOW), end=now), True


def model_from_text(text: str) -> ModelAlias | None:
    """A model the asker chose ("用 deepseek", "model=doubao", "use qwen", "不用大模型"), if any."""
    for pattern in _MODEL_OVERRIDES:
        found = pattern.search(text)
        if found:
            return _MODEL_NAMES[found.group("m").lower()]
    return "none" if _NO_MODEL.search(text) else None


def services_from_text(text: str, known: Sequence[str]) -> list[str]:
    """Services named with `service=a,b`, then known service names in the order they appear."""
    named: dict[str, None] = {}
    for found in _SERVICE_DIRECTIVE.finditer(text):
        for name in re.split(r"\s*[,，]\s*", found.group("names")):
            named.setdefault(name.rstrip("."), None)
    for service in services_named(text, known):
        named.setdefault(service, None)
    return list(named)


def _number(word: str | None) -> float | None:
    if word is None or word in ("a", "an", "one", "A", "An", "One"):
        return 1.0
    if word == "半":
        return 0.5
    if word[0].isdigit():
        return float(word)
    return float(_cn_integer(word))


def _cn_integer(word: str) -> int:
    """一 .. 九十九 (enough for hours and minutes)."""
    if "十" not in word:
        return _CN_DIGITS.get(word, 0)
    tens, _, units = word.partition("十")
    return (_CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0)


def _relative_start(text: str, now: datetime) -> datetime | None:
    found = _CN_RELATIVE.search(text)
    if found:
        count = _number(found.group("n1") if found.group("u1") else found.group("n2"))
        unit = _CN_UNITS[found.group("u1") or found.group("u2")]
        if count:
            return now - timedelta(seconds=count * unit)
    found = _EN_RELATIVE.search(text)
    if found:
        count = _number(found.group("n") and found.group("n").lower())
        word = found.group("u").lower()
        unit = next(seconds for prefix, seconds in _EN_UNITS.items() if word.rstrip("s") == prefix)
        if count:
            return now - timedelta(seconds=count * unit)
    return None


def _clock_start(text: str, now: datetime) -> datetime | None:
    found = _CN_CLOCK.search(text)
    if not found:
        return None
    day, part = found.group("day") or "", found.group("part") or ""
    if found.group("hh"):
        hour, minute = int(found.group("hh")), int(found.group("mm"))
    else:
        raw = found.group("h")
        hour = int(raw) if raw.isdigit() else _cn_integer(raw)
        spoken = (found.group("m") or "").replace("分", "").strip()
        minute = 30 if spoken == "半" else int(spoken or 0)
    afternoon = part in ("下午", "傍晚", "晚上", "夜里") or day in ("昨晚", "昨夜", "今晚")
    if (afternoon and hour < 12) or (part == "中午" and hour < 11):
        hour += 12
    if hour > 23 or minute > 59:
        return None
    local_now = now.astimezone(CHINA)
    days_back = 2 if day == "前天" else 1 if day.startswith("昨") else 0
    start = (local_now - timedelta(days=days_back)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if not day and start > local_now:
        start -= timedelta(days=1)  # "10点以后" said at 09:00 means yesterday's ten o'clock
    return start.astimezone(now.tzinfo)
