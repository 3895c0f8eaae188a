"""Fencing untrusted text for a prompt: log lines, span names, label values and service names.

Anyone who can write a log line, name a span or label a pod can put words in front of the model.
Such text goes inside `<untrusted>…</untrusted>` and must not be able to close that fence early.
Closing a fence needs angle brackets and the word `untrusted`; both have look-alikes (full-width
`＜`, `‹`, `〈`, Cyrillic letters, zero-width joiners in the word) and encodings (`&lt;`, `%3C`,
`\\u003c`, `\\x3c`). So the fenced text is normalised first (NFKC, invisible characters removed,
encodings of brackets decoded), then every bracket-like character becomes a parenthesis and every
spelling of the word becomes `[fence]`. What is left reads as data and cannot end the fence.
"""

import re
import unicodedata

MAX_EXCERPT = 240
OPEN, CLOSE = "<untrusted>", "</untrusted>"

# Characters that render like < or > (after NFKC, which already folds the full-width and small forms).
_LEFT = "<‹«〈《⟨⟪❮❰ᐸ˂⧼⦉⦑"
_RIGHT = ">›»〉》⟩⟫❯❱ᐳ˃⧽⦊⦒"
_BRACKETS = str.maketrans(dict.fromkeys(_LEFT, "(") | dict.fromkeys(_RIGHT, ")"))
# Encodings of < and > a renderer or a model may decode: HTML entities, URL, JSON/C/octal escapes.
_ENCODED_LEFT = re.compile(
    r"&(?:lt|#0*60|#x0*3c|lang|laquo|lsaquo);?|%(?:25)*3c|\\+(?:u0*3c|x3c|074|U0*3c)", re.IGNORECASE
)
_ENCODED_RIGHT = re.compile(
    r"&(?:gt|#0*62|#x0*3e|rang|raquo|rsaquo);?|%(?:25)*3e|\\+(?:u0*3e|x3e|076|U0*3e)", re.IGNORECASE
)
# Latin look-alikes (Cyrillic, Greek) of the letters in "untrusted", folded before the word is sought.
_HOMOGLYPHS = str.maketrans(
    {"у": "u", "υ": "u", "ս": "u", "п": "n", "η": "n", "т": "t", "τ": "t", "г": "r", "ѕ": "s",
     "е": "e", "ε": "e", "ԁ": "d", "ɗ": "d", "ᴜ": "u", "ɴ": "n", "ᴛ": "t", "ʀ": "r", "ꜱ": "s", "ᴇ": "e",
     "ᴅ": "d", "ı": "i", "ο": "o", "о": "o", "а": "a", "с": "c", "р": "p", "х": "x"}
)  # fmt: skip
_WORD = re.compile(r"u\W?n\W?t\W?r\W?u\W?s\W?t\W?e\W?d", re.IGNORECASE)


def _shown(char: str) -> str:
    # Format characters (zero-width, bidi controls) and unassigned ones hide from a reader: dropped.
    # Controls (newlines, tabs, escapes) become spaces.
    category = unicodedata.category(char)
    if category in ("Cf", "Cn", "Co"):
        return ""
    return " " if category == "Cc" else char


def neutralise(text: str) -> str:
    """`text` on one line with no way left to spell a fence: see the module docstring."""
    flat = unicodedata.normalize("NFKC", text)
    flat = "".join(_shown(char) for char in flat)
    flat = _ENCODED_RIGHT.sub(")", _ENCODED_LEFT.sub("(", flat))
    flat = flat.translate(_BRACKETS)
    folded = flat.translate(_HOMOGLYPHS)
    # Homoglyph folding maps one character to one, so positions in `folded` are positions in `flat`.
    pieces, last = [], 0
    for match in _WORD.finditer(folded):
        pieces += [flat[last : match.start()], "[fence]"]
        last = match.end()
    pieces.append(flat[last:])
    return " ".join("".join(pieces).split())


def untrusted(text: str, limit: int = MAX_EXCERPT) -> str:
    """`text` fenced as data: neutralised, one line, cut to `limit`."""
    flat = neutralise(text)
    cut = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return f"{OPEN}{cut}{CLOSE}"
