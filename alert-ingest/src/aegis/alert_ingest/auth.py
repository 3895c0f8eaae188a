"""The webhook's bearer-token check (Alertmanager's `http_config.authorization`).

Compared in constant time over fixed-length digests, so neither the content nor the length of the
configured token leaks through response timing. The token itself is never logged or echoed.
"""

import hashlib
import hmac

from pydantic import SecretStr

from aegis.alert_ingest.rejections import Rejection

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="aegis-alert-ingest"'}


class BearerTokenCheck:
    """Accepts `Authorization: Bearer <token>` for the configured token; accepts all when none is."""

    def __init__(self, token: SecretStr | None) -> None:
        expected = token.get_secret_value().encode("utf-8", "surrogateescape") if token else None
        self._expected = hashlib.sha256(expected).digest() if expected is not None else None

    def check(self, authorization: str | None) -> None:
        """Raise a 401 `Rejection` unless `authorization` carries the configured bearer token."""
        if self._expected is None:
            return
        if not authorization:
            raise Rejection(
                401,
                "unauthorized",
                "missing bearer token: send `Authorization: Bearer <AEGIS_WEBHOOK_TOKEN>` "
                "(http_config.authorization in the Alertmanager receiver)",
                headers=_CHALLENGE,
            )
        scheme, _, supplied = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(supplied), self._expected):
            raise Rejection(
                401,
                "unauthorized",
                "wrong bearer token: the Authorization header does not carry AEGIS_WEBHOOK_TOKEN",
                headers=_CHALLENGE,
            )


def _digest(header_value: str) -> bytes:
    # ASGI servers decode header bytes as latin-1; encoding back yields the bytes the client sent.
    return hashlib.sha256(header_value.strip().encode("latin-1", "replace")).digest()
