"""One message catalogue per locale: every sentence and label users read, in Chinese and English.

Code asks for a message by key and fills its format fields; it never branches on the language.
`zh.py` and `en.py` hold the same keys with the same fields (a test holds them to it), so adding a
sentence means adding it to both, and a third language is a third file.
"""

from collections.abc import Mapping

from aegis.shared.messages import en, zh
from aegis.shared.settings import Locale

CATALOGUES: Mapping[Locale, Mapping[str, str]] = {"zh": zh.MESSAGES, "en": en.MESSAGES}


def message(locale: Locale, key: str, /, **fields: object) -> str:
    """The `key` message in `locale` with its format fields filled (KeyError for an unknown key)."""
    return CATALOGUES[locale][key].format(**fields) if fields else CATALOGUES[locale][key]
