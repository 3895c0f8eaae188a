"""Authenticating Feishu's HTTP event callbacks: decryption, signature, freshness, token.

Pure, so each rule is tested on its own. With an encrypt key Feishu sends `{"encrypt": base64}`
(AES-256-CBC, key = SHA-256 of the encrypt key, IV = first 16 bytes) and signs it:
`X-Lark-Signature = sha256_hex(timestamp + nonce + encrypt_key + raw body)`. A signature older
than 5 minutes is refused, so a captured request cannot be replayed later. The verification token
inside the event is compared in constant time. Without an encrypt key (token mode) freshness is
still checked: the request timestamp header when Feishu sends one, and always the event's own
`create_time`, which must be younger than Feishu's whole re-delivery schedule (15 s, 5 min, 1 h,
6 h): an older event is a replay. Nesting deeper than `MAX_JSON_DEPTH` is refused (400) by a
scan before any parser runs, so a crafted body cannot exhaust the parser's recursion. lark-oapi's
dispatcher does most of this too, but answers every failure with HTTP 500 and never checks
freshness; its AES cipher is reused here.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aegis.shared.lark_sdk import load_lean

load_lean()

from lark_oapi.core.utils.decryptor import AESCipher  # noqa: E402 - after load_lean()

from aegis.gateway_feishu.events import epoch_to_datetime  # noqa: E402

MAX_SIGNATURE_AGE_S = 300.0
MAX_EVENT_AGE_S = 7.5 * 3600  # past the last re-delivery, 7 h 5 min after the event
MAX_JSON_DEPTH = 64
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')
_QUOTE, _BACKSLASH, _OPENERS = ord('"'), ord("\\"), (ord("["), ord("{"))
URL_VERIFICATION = "url_verification"
TIMESTAMP_HEADER = "x-lark-request-timestamp"
NONCE_HEADER = "x-lark-request-nonce"
SIGNATURE_HEADER = "x-lark-signature"


class CallbackRejected(Exception):
    """Not from Feishu, or not any more: answered with 401 and never handled."""


class CallbackMalformed(Exception):
    """Not an event at all: answered with 400."""


@dataclass(frozen=True)
class CallbackSecrets:
    verification_token: str | None
    encrypt_key: str | None


def open_callback(
    raw_body: bytes, headers: Mapping[str, str], secrets: CallbackSecrets, now_s: float
) -> dict[str, Any]:
    """The authenticated, decrypted event; `headers` keys are lower-case."""
    outer = _json_object(raw_body)
    if secrets.encrypt_key:
        if not isinstance(outer.get("encrypt"), str):
            raise CallbackRejected("plain body while FEISHU_ENCRYPT_KEY is set")
        try:
            payload = _json_object(AESCipher(secrets.encrypt_key).decrypt_str(outer["encrypt"]).encode())
        except (ValueError, CallbackMalformed):
            raise CallbackRejected("body does not decrypt with FEISHU_ENCRYPT_KEY") from None
        # Feishu does not sign the one-off URL check; everything else must carry a fresh signature.
        if not (_is_url_verification(payload) and SIGNATURE_HEADER not in headers):
            check_signature(raw_body, headers, secrets.encrypt_key, now_s)
    elif "encrypt" in outer:
        raise CallbackRejected("encrypted body but FEISHU_ENCRYPT_KEY is not set")
    else:
        payload = outer
        if not _is_url_verification(payload):
            check_freshness(payload, headers, now_s)
    if secrets.verification_token:
        check_token(_token_of(payload), secrets.verification_token)
    return payload


def check_signature(raw_body: bytes, headers: Mapping[str, str], encrypt_key: str, now_s: float) -> None:
    """`X-Lark-Signature` matches and its timestamp is at most 5 minutes from now."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    nonce = headers.get(NONCE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (timestamp and nonce and signature):
        raise CallbackRejected("missing X-Lark-Request-Timestamp, X-Lark-Request-Nonce or X-Lark-Signature")
    expected = hashlib.sha256((timestamp + nonce + encrypt_key).encode() + raw_body).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise CallbackRejected("X-Lark-Signature does not match")
    check_request_age(timestamp, now_s, "signature")


def check_request_age(timestamp: str, now_s: float, what: str = "request") -> None:
    """`X-Lark-Request-Timestamp` is at most 5 minutes from now."""
    try:
        age = abs(now_s - float(timestamp))
    except ValueError:
        raise CallbackRejected("X-Lark-Request-Timestamp is not a number") from None
    if age > MAX_SIGNATURE_AGE_S:
        raise CallbackRejected(f"{what} is {age:.0f}s old (at most {MAX_SIGNATURE_AGE_S:.0f}s)")


def check_freshness(payload: dict[str, Any], headers: Mapping[str, str], now_s: float) -> None:
    """Token mode: the request is recent and the event younger than Feishu's re-delivery schedule."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    if timestamp:
        check_request_age(timestamp, now_s)
    created = _created_s(payload)
    if created is None:
        raise CallbackRejected("event has no header.create_time: its age cannot be checked")
    if created - now_s > MAX_SIGNATURE_AGE_S:
        raise CallbackRejected("event is stamped in the future")
    if now_s - created > MAX_EVENT_AGE_S:
        raise CallbackRejected(
            f"event is {now_s - created:.0f}s old, past Feishu's re-delivery schedule: a replay"
        )


def nests_deeper(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects in `raw` nest deeper than `limit`, found without parsing it."""
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _STRUCTURE.finditer(raw):
        at = match.start()
        char = raw[at]
        if in_string:
            if at == escaped_at:
                continue
            if char == _BACKSLASH:
                escaped_at = at + 1
            elif char == _QUOTE:
                in_string = False
        elif char == _QUOTE:
            in_string = True
        elif char in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def check_token(token: str | None, expected: str) -> None:
    """The event's verification token equals FEISHU_VERIFICATION_TOKEN (constant time)."""
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise CallbackRejected("verification token does not match")


def challenge_answer(payload: dict[str, Any]) -> dict[str, Any] | None:
    """`{"challenge": ...}` for Feishu's URL check, else None."""
    if _is_url_verification(payload):
        return {"challenge": payload.get("challenge", "")}
    return None


def _is_url_verification(payload: dict[str, Any]) -> bool:
    return payload.get("type") == URL_VERIFICATION


def _token_of(payload: dict[str, Any]) -> str | None:
    header = payload.get("header")
    token = header.get("token") if isinstance(header, dict) else payload.get("token")
    return token if isinstance(token, str) else None


def _created_s(payload: dict[str, Any]) -> float | None:
    header = payload.get("header")
    stamp = header.get("create_time") if isinstance(header, dict) else payload.get("ts")
    if not isinstance(stamp, str | int | float):
        return None
    try:
        return epoch_to_datetime(int(float(stamp))).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _json_object(raw: bytes) -> dict[str, Any]:
    if nests_deeper(raw, MAX_JSON_DEPTH):
        raise CallbackMalformed(f"body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise CallbackMalformed("body is not JSON") from None
    if not isinstance(parsed, dict):
        raise CallbackMalformed("body is not a JSON object")
    return parsed
