"""The message catalogues: every key in both locales with the same format fields, and one lookup."""

from string import Formatter

import pytest

from aegis.shared.messages import CATALOGUES, message


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


def test_every_key_exists_in_both_locales_with_the_same_fields() -> None:
    """A sentence added in one language and not the other, or with other fields, fails here."""
    zh, en = CATALOGUES["zh"], CATALOGUES["en"]
    assert sorted(set(zh) ^ set(en)) == []
    differing = {
        key: (_fields(zh[key]), _fields(en[key])) for key in zh if _fields(zh[key]) != _fields(en[key])
    }
    assert differing == {}


def test_a_message_is_filled_with_its_fields_in_the_asked_locale() -> None:
    """Fields, format specs included, fill the template; a message without fields comes back as written."""
    assert (
        message("zh", "answer.top", service="payment", confidence=0.42)
        == "最可能的根因：payment（置信度 42%）。"
    )
    assert message("en", "answer.top", service="payment", confidence=0.42) == (
        "Most likely root cause: payment (confidence 42%)."
    )
    assert message("en", "ago.now") == "just now"


def test_an_unknown_key_is_an_error_not_an_empty_text() -> None:
    """A typo in a key fails loudly instead of showing users nothing."""
    with pytest.raises(KeyError):
        message("zh", "answer.nonexistent")
