"""HTTP event callbacks as Feishu signs and encrypts them (FEISHU.md), for the callback tests."""

import base64
import hashlib
import json
import os
import time
from typing import Any

from Crypto.Cipher import AES

ENCRYPT_KEY = "test-encrypt-key"
VERIFICATION_TOKEN = "v_token"


def encrypt(payload: dict[str, Any], key: str = ENCRYPT_KEY) -> bytes:
    """`{"encrypt": base64(iv + AES-256-CBC(payload))}` with key = SHA-256(encrypt key), PKCS7."""
    plain = json.dumps(payload, ensure_ascii=False).encode()
    pad = 16 - len(plain) % 16
    iv = os.urandom(16)
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    sealed = cipher.encrypt(plain + bytes([pad]) * pad)
    return json.dumps({"encrypt": base64.b64encode(iv + sealed).decode()}).encode()


def signed_headers(body: bytes, key: str = ENCRYPT_KEY, timestamp: float | None = None) -> dict[str, str]:
    """X-Lark-Request-Timestamp / -Nonce and X-Lark-Signature = sha256_hex(ts + nonce + key + body)."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    nonce = base64.b32encode(os.urandom(10)).decode()
    signature = hashlib.sha256((stamp + nonce + key).encode() + body).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": stamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature,
    }


def challenge(token: str = VERIFICATION_TOKEN) -> dict[str, Any]:
    return {"challenge": "ch-123", "token": token, "type": "url_verification"}
