"""The callback's authentication rules one by one: decryption, signature, freshness, token."""

import json
import time

import pytest

from aegis.devkit.fakes.feishu_events import message_event
from aegis.gateway_feishu.callback_auth import (
    CallbackMalformed,
    CallbackRejected,
    CallbackSecrets,
    open_callback,
)
from tests.gateway.callbacks import ENCRYPT_KEY, VERIFICATION_TOKEN, challenge, encrypt, signed_headers

BOTH = CallbackSecrets(VERIFICATION_TOKEN, ENCRYPT_KEY)
TOKEN_ONLY = CallbackSecrets(VERIFICATION_TOKEN, None)
NOW = 1_800_000_000.0


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@pytest.mark.parametrize(
    ("age_s", "accepted"), [(0, True), (299, True), (-299, True), (301, False), (-301, False)]
)
def test_signature_freshness(age_s: float, accepted: bool) -> None:
    """A correctly signed request is accepted within 5 minutes of its timestamp, either way, and not after."""
    event = message_event()
    body = encrypt(event)
    headers = lower(signed_headers(body, timestamp=NOW - age_s))
    if accepted:
        assert open_callback(body, headers, BOTH, NOW) == event
    else:
        with pytest.raises(CallbackRejected, match="old"):
            open_callback(body, headers, BOTH, NOW)


def test_signature_covers_the_body() -> None:
    """Headers signed for one body do not authenticate another."""
    headers = lower(signed_headers(encrypt(message_event()), timestamp=NOW))
    with pytest.raises(CallbackRejected, match="does not match"):
        open_callback(encrypt(message_event()), headers, BOTH, NOW)


def test_missing_signature_refused_except_for_the_url_check() -> None:
    """Events must be signed; Feishu's one-off URL check is answered after the token check alone."""
    with pytest.raises(CallbackRejected, match="missing"):
        open_callback(encrypt(message_event()), {}, BOTH, NOW)
    assert open_callback(encrypt(challenge()), {}, BOTH, NOW)["challenge"] == "ch-123"
    with pytest.raises(CallbackRejected, match="token"):
        open_callback(encrypt(challenge("forged")), {}, BOTH, NOW)


@pytest.mark.parametrize(
    ("body", "secrets", "error"),
    [
        (json.dumps(message_event()).encode(), BOTH, CallbackRejected),
        (encrypt(message_event()), TOKEN_ONLY, CallbackRejected),
        (b"not json", TOKEN_ONLY, CallbackMalformed),
        (b"[1, 2]", TOKEN_ONLY, CallbackMalformed),
        (json.dumps({"schema": "2.0", "header": {"event_id": "e"}}).encode(), TOKEN_ONLY, CallbackRejected),
    ],
    ids=["plain-with-key", "encrypted-without-key", "not-json", "not-object", "no-token"],
)
def test_bodies_refused(body: bytes, secrets: CallbackSecrets, error: type[Exception]) -> None:
    """Plain bodies when a key is set, encrypted ones when none is, non-JSON, and events without a token."""
    with pytest.raises(error):
        open_callback(body, lower(signed_headers(body, timestamp=NOW)), secrets, NOW)


def test_token_only_mode_accepts_the_right_token() -> None:
    """Without an encrypt key the event's header token is what authenticates it."""
    event = message_event()
    assert open_callback(json.dumps(event).encode(), {}, TOKEN_ONLY, time.time()) == event
