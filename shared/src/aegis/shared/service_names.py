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
from functools import lru_cache

_NAME_CHARS = "A-Za-z0-9_\\-"


@lru_cache(maxsize=64)
def _finder(names: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, list[str]]]:
    """One pattern for all `names`, and the names each lower-cased match stands for."""
    # Longest first, so that at one position "payment-gateway" is tried before "payment".
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=lambda n: (-len(n), n)))
    pattern = re.compile(rf"(?<![{_NAME_CHARS}.])(?:{alternatives})(?![{_NAME_CHARS}])", re.IGNORECASE)
    spelled: dict[str, list[str]] = {}
    for name in names:
        spelled.setdefault(name.lower(), []).append(name)
    return pattern, spelled


def services_named(text: str, known: Iterable[str]) -> list[str]:
    """The `known` names written in `text` as whole tokens, in the order they first appear."""
    names = tuple(sorted({name for name in known if name}))
    if not names or not text:
        return []
    pattern, spelled = _finder(names)
    found: dict[str, None] = {}
    for match in pattern.finditer(text):
        for name in spelled.get(match.group().lower(), ()):
            found.setdefault(name, None)
    return list(found)
