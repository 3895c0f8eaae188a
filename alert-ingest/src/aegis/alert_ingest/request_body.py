"""Reading a webhook body without trusting its size or its declared type.

The limit is enforced twice: on `Content-Length` before a byte of the body is read, and while the
body streams in, so a chunked (length-less) 12 MB upload is refused after the first MiB instead of
being buffered. Oversized requests are answered with `Connection: close`, so the server drops the
rest of the upload instead of reading it to find the next request.
"""

from starlette.requests import ClientDisconnect
from starlette.types import Receive

from aegis.alert_ingest.rejections import Rejection

_CLOSE = {"Connection": "close"}


def check_content_type(content_type: str | None) -> None:
    """Raise 415 when a Content-Type is given and is not JSON (Alertmanager sends application/json)."""
    if content_type is None:
        return
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return
    raise Rejection(
        415,
        "unsupported_media_type",
        f"Content-Type must be application/json, got {content_type[:100]!r}",
    )


def _too_large(limit: int, size: str) -> Rejection:
    return Rejection(
        413,
        "too_large",
        f"request body of {size} exceeds the limit of {limit} bytes (WEBHOOK_MAX_BODY_BYTES); "
        "lower max_alerts in the Alertmanager webhook receiver or raise the limit",
        headers=_CLOSE,
    )


def check_content_length(content_length: str | None, limit: int) -> None:
    """Raise 413 when the declared length already exceeds `limit` (a bad value is left to the server)."""
    if content_length is None or not content_length.strip().isdigit():
        return
    declared = int(content_length)
    if declared > limit:
        raise _too_large(limit, f"{declared} bytes")


async def read_limited(receive: Receive, limit: int) -> bytes:
    """The whole body from the ASGI `receive`, or a 413 `Rejection` as soon as it grows past `limit`
    bytes; `ClientDisconnect` when the sender goes away first.

    A plain loop over `receive` (an async generator in between cost several µs per webhook).
    """
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, f"more than {limit} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)
