"""Which known services a text names: one rule for the gateway, the scope step, the ranking and the guard.

People and programs write service names inside other text: "payment 5xx 变多了", "我已经重启了payment服务",
"调用payment失败", "dial tcp payment-db:5432", "ts-order-service 呢？". A name counts when it stands as
a whole token: the characters around it are not ASCII letters, digits, `_` or `-` (and not a `.`
before it). Chinese characters, spaces and punctuation are boundaries, which is why Python's
Unicode `\\b` and `\\w` cannot be used ("调用payment失败" has no `\\b` around `payment`). Case does not
matter; `pay` is not named by "payment" nor by "pay-gateway". Pure, and one compiled pattern per
set of known names, so scanning every log sample of a bundle stays cheap.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_NAME_CHARS = "A-Za-z0-9_\\-"
# A maximal run of name characters not right after a dot: the only place a plain name can stand.
_RUN = re.compile(rf"(?<![{_NAME_CHARS}.])[{_NAME_CHARS}]+")
_PLAIN = re.compile(rf"[{_NAME_CHARS}]+")


@dataclass(frozen=True)
class _Finder:
    """Known names by their lower-case spelling, and one pattern for names with other characters."""

    plain: dict[str, tuple[str, ...]]
    other: re.Pattern[str] | None
    spelled: dict[str, tuple[str, ...]]


@lru_cache(maxsize=64)
def _finder(names: frozenset[str]) -> _Finder:
    spelled: dict[str, list[str]] = {}
    for name in sorted(names):
        spelled.setdefault(name.lower(), []).append(name)
    plain = {low: tuple(found) for low, found in spelled.items() if _PLAIN.fullmatch(low)}
    others = sorted((low for low in spelled if low not in plain), key=lambda n: (-len(n), n))
    # Longest first, so that at one position "payment.db" is tried before "payment.d".
    other = (
        re.compile(
            rf"(?<![{_NAME_CHARS}.])(?:{'|'.join(map(re.escape, others))})(?![{_NAME_CHARS}])", re.IGNORECASE
        )
        if others
        else None
    )
    return _Finder(plain, other, {low: tuple(found) for low, found in spelled.items()})


def services_named(text: str, known: Iterable[str]) -> list[str]:
    """The `known` names written in `text` as whole tokens, in the order they first appear."""
    names = frozenset(name for name in known if name)
    if not names or not text:
        return []
    finder = _finder(names)
    hits = [(m.start(), m.group().lower()) for m in _RUN.finditer(text) if m.group().lower() in finder.plain]
    if finder.other is not None:
        hits.extend((m.start(), m.group().lower()) for m in finder.other.finditer(text))
    found: dict[str, None] = {}
    for _, low in sorted(hits):
        for name in finder.spelled[low]:
            found.setdefault(name, None)
    return list(found)
