"""The one HTTP client every backend request goes through, and the allowlist that makes it read-only.

Aegis must never change the systems it observes. Instead of trusting each caller to only read, every
request is checked against a per-backend allowlist of (method, path) *before* it reaches httpx, so a
delete, a push or a shutdown raises `ForbiddenRequest` without a byte on the wire. Failures of a
backend (down, slow, garbage) become `BackendUnavailable`, which the tools record as evidence gaps;
a 400/422 becomes `QueryRejected` (the query is wrong, not the backend), and what a gateway or an
overloaded server answers with 429, 5xx or a timeout is retried with back-off, honouring `Retry-After`.
"""

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
import orjson
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from aegis.rca_worker.lane import CpuLane
from aegis.rca_worker.settings import WorkerSettings

_NAME = r"[A-Za-z0-9_.:\-]+"


class Backend(StrEnum):
    """The observability backends Aegis reads from."""

    PROMETHEUS = "prometheus"
    LOKI = "loki"
    JAEGER = "jaeger"


ALLOWED_PATHS: Mapping[Backend, tuple[str, ...]] = {
    Backend.PROMETHEUS: (
        r"/api/v1/query",
        r"/api/v1/query_range",
        r"/api/v1/series",
        r"/api/v1/labels",
        rf"/api/v1/label/{_NAME}/values",
        r"/api/v1/metadata",
        r"/api/v1/rules",
        r"/api/v1/alerts",
        r"/api/v1/status/config",
    ),
    Backend.LOKI: (
        r"/loki/api/v1/query",
        r"/loki/api/v1/query_range",
        r"/loki/api/v1/labels",
        rf"/loki/api/v1/label/{_NAME}/values",
        r"/loki/api/v1/series",
    ),
    Backend.JAEGER: (
        r"/api/services",
        rf"/api/services/{_NAME}/operations",
        r"/api/traces",
        r"/api/traces/[0-9A-Fa-f]{1,32}",
        r"/api/dependencies",
    ),
}
ALLOWED_METHODS = frozenset({"GET"})
_COMPILED = {backend: tuple(re.compile(p) for p in paths) for backend, paths in ALLOWED_PATHS.items()}

QueryParams = Sequence[tuple[str, str | int | float]]


class ForbiddenRequest(Exception):
    """A request that is not a read on the allowlist; raised before anything is sent."""


class BackendUnavailable(Exception):
    """A backend that is not configured, unreachable, too slow, or answered something unusable."""

    def __init__(self, backend: Backend, reason: str) -> None:
        super().__init__(f"{backend.value}: {reason}")
        self.backend = backend
        self.reason = reason


class QueryRejected(BackendUnavailable):
    """The backend refused the query itself (HTTP 400/422): ours or the user's template is wrong."""


class _Retryable(BackendUnavailable):
    """A failure worth another try (429, 5xx, timeout, connection), with the server's `Retry-After`."""

    def __init__(self, backend: Backend, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(backend, reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class BackendEndpoint:
    """Where one backend lives, how long a request to it may take, headers it needs, and retries."""

    base_url: str
    timeout_s: float
    headers: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 3
    max_backoff_s: float = 5.0


def check_allowed(backend: Backend, method: str, path: str) -> None:
    """Raise `ForbiddenRequest` unless `method path` is a read this backend's allowlist names."""
    if method.upper() not in ALLOWED_METHODS:
        raise ForbiddenRequest(f"{backend.value}: method {method.upper()} is not allowed (read-only: GET)")
    segments = path.split("/")[1:]
    if any(part in ("", ".", "..") for part in segments) or "%" in path:
        raise ForbiddenRequest(f"{backend.value}: path {path!r} is not a plain path")
    if not any(pattern.fullmatch(path) for pattern in _COMPILED[backend]):
        raise ForbiddenRequest(f"{backend.value}: path {path!r} is not on the read-only allowlist")


class ReadOnlyClient:
    """Sends allowlisted GET requests to the configured backends through one injected httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: Mapping[Backend, BackendEndpoint],
        max_in_flight: int = 16,
        wait_turn: Callable[[], Awaitable[None]] | None = None,
        in_flight: Mapping[Backend, asyncio.Semaphore] | None = None,
        lane: CpuLane | None = None,
    ) -> None:
        """`wait_turn`, when given, is awaited once a request has its slot, just before it is sent,
        and again before an answer is decoded; `in_flight` (shared with other clients) bounds the
        requests under way instead of this client's own `max_in_flight`: API analyses share one
        budget, and neither send a call nor read an answer while a Feishu one runs
        (`service.questions`). `lane` is where the analysis decodes and digests what came back (inline
        by default; an API analysis's is a thread that waits its turn: `aegis.rca_worker.lane`)."""
        self.lane = lane or CpuLane()
        self._http = http
        self._endpoints = dict(endpoints)
        self._wait_turn = wait_turn
        # Per backend: a backend with a hundred trace searches queued cannot starve another's discovery.
        self._in_flight = in_flight or {backend: asyncio.Semaphore(max_in_flight) for backend in Backend}

    def configured(self, backend: Backend) -> bool:
        """Whether this backend has a base URL."""
        return backend in self._endpoints

    def endpoint(self, backend: Backend) -> BackendEndpoint | None:
        """The endpoint of `backend`, if configured."""
        return self._endpoints.get(backend)

    async def request(
        self, backend: Backend, method: str, path: str, params: QueryParams = ()
    ) -> httpx.Response:
        """Send one request after the allowlist check, retrying what a retry can fix.

        Transport failures and 429/5xx after the last attempt become `BackendUnavailable`; 400/422
        `QueryRejected`, naming the query; other statuses (401 tenant, 404) `BackendUnavailable`.
        """
        check_allowed(backend, method, path)
        endpoint = self._endpoints.get(backend)
        if endpoint is None:
            raise BackendUnavailable(backend, "not configured")
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, endpoint.attempts)),
            wait=_backoff(endpoint.max_backoff_s),
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send_once(backend, endpoint, path, params)
        except _Retryable as error:
            raise BackendUnavailable(backend, error.reason) from None
        raise AssertionError("unreachable: tenacity either returns or reraises")  # pragma: no cover

    async def _send_once(
        self, backend: Backend, endpoint: BackendEndpoint, path: str, params: QueryParams
    ) -> httpx.Response:
        url = endpoint.base_url.rstrip("/") + path
        try:
            async with self._in_flight[backend]:
                if self._wait_turn is not None:  # in the slot: a call queued for one waits too
                    await self._wait_turn()
                async with asyncio.timeout(endpoint.timeout_s):
                    response = await self._http.request(
                        "GET",
                        url,
                        params=list(params),
                        headers=dict(endpoint.headers),
                        timeout=endpoint.timeout_s,
                    )
        except (httpx.TimeoutException, TimeoutError):
            raise _Retryable(backend, f"timed out after {endpoint.timeout_s:g}s on {path}") from None
        except httpx.HTTPError as error:
            raise _Retryable(backend, f"unreachable on {path}: {type(error).__name__}") from None
        status = response.status_code
        if status < 400:
            return response
        said = error_text(response)
        if status in (400, 422):
            query = next((str(v) for k, v in params if k == "query"), "")
            raise QueryRejected(
                backend,
                f"rejected the query as wrong (HTTP {status} on {path}): {said}"
                + (f"; query: {query[:200]}" if query else ""),
            )
        if status == 429 or status >= 500:
            raise _Retryable(
                backend, f"HTTP {status} on {path}: {said}", _retry_after(response.headers.get("Retry-After"))
            )
        if status in (401, 403):
            raise BackendUnavailable(
                backend, f"HTTP {status} on {path} (credentials or tenant header refused): {said}"
            )
        raise BackendUnavailable(backend, f"HTTP {status} on {path}: {said}")

    async def get_json(self, backend: Backend, path: str, params: QueryParams = ()) -> Any:
        """GET `path` and decode its JSON body, or raise `BackendUnavailable` saying what was wrong."""
        response = await self.request(backend, "GET", path, params)
        if self._wait_turn is not None:  # an answer that came in during a Feishu turn is read after it
            await self._wait_turn()
        try:
            return decode_json(response.content)
        except ValueError:
            raise BackendUnavailable(
                backend, f"answered non-JSON on {path}: {response.text[:80]!r}"
            ) from None


def decode_json(content: bytes) -> Any:
    """A backend's JSON answer, decoded by orjson: two to three times faster than the standard
    library on a page of traces, the biggest answers an analysis reads, all on the event loop. What
    orjson refuses and the standard library reads (`NaN`, integers beyond 64 bits) is read by that."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def error_text(response: httpx.Response) -> str:
    """What an error answer says: the `error`/`errors` of a JSON body, or the start of a text one."""
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(body, dict):
        said = body.get("error") or body.get("errors") or body.get("message")
        if said:
            kind = body.get("errorType")
            return (f"{kind}: " if kind else "") + str(said)[:200]
    return text.strip()[:200]


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (the delta form; an HTTP date is treated as absent)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _backoff(cap_s: float) -> Callable[[RetryCallState], float]:
    """Exponential back-off with jitter, or the server's `Retry-After` when it gave one, capped."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Retryable) and error.retry_after_s is not None:
            return min(cap_s, error.retry_after_s)
        exponent: int = state.attempt_number - 1
        return min(cap_s, 0.2 * 2.0**exponent * (1 + random.random() / 2))  # noqa: S311

    return wait


def endpoints_from_settings(settings: WorkerSettings) -> dict[Backend, BackendEndpoint]:
    """Endpoints for every backend whose base URL `settings` names, with timeouts, headers, retries."""
    result: dict[Backend, BackendEndpoint] = {}
    for backend in Backend:
        base_url: str | None = getattr(settings, f"{backend.value}_base_url")
        if not base_url:
            continue
        headers: dict[str, str] = {}
        auth: SecretStr | None = getattr(settings, f"{backend.value}_auth_header")
        if auth is not None:
            headers["Authorization"] = auth.get_secret_value()
        if backend is Backend.LOKI and settings.loki_tenant_id:
            headers["X-Scope-OrgID"] = settings.loki_tenant_id
        extra: Mapping[str, str] = getattr(settings, f"{backend.value}_extra_headers")
        headers |= extra
        timeout_s: float = getattr(settings, f"{backend.value}_timeout_s")
        result[backend] = BackendEndpoint(
            base_url, timeout_s, headers, settings.backend_attempts, settings.backend_max_backoff_s
        )
    return result
