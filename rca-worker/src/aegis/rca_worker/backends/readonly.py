"""The one HTTP client every backend request goes through, and the allowlist that makes it read-only.

Aegis must never change the systems it observes. Instead of trusting each caller to only read, every
request is checked against a per-backend allowlist of (method, path) *before* it reaches httpx, so a
delete, a push or a shutdown raises `ForbiddenRequest` without a byte on the wire. Failures of a
backend (down, slow, garbage) become `BackendUnavailable`, which the tools record as evidence gaps.
"""

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from pydantic import SecretStr

from aegis.rca_worker.settings import RcaSettings

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


@dataclass(frozen=True)
class BackendEndpoint:
    """Where one backend lives, how long a request to it may take, and headers it needs."""

    base_url: str
    timeout_s: float
    headers: Mapping[str, str] = field(default_factory=dict)


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
        self, http: httpx.AsyncClient, endpoints: Mapping[Backend, BackendEndpoint], max_in_flight: int = 16
    ) -> None:
        self._http = http
        self._endpoints = dict(endpoints)
        self._in_flight = asyncio.Semaphore(max_in_flight)

    def configured(self, backend: Backend) -> bool:
        """Whether this backend has a base URL."""
        return backend in self._endpoints

    def endpoint(self, backend: Backend) -> BackendEndpoint | None:
        """The endpoint of `backend`, if configured."""
        return self._endpoints.get(backend)

    async def request(
        self, backend: Backend, method: str, path: str, params: QueryParams = ()
    ) -> httpx.Response:
        """Send one request after the allowlist check; transport failures become `BackendUnavailable`."""
        check_allowed(backend, method, path)
        endpoint = self._endpoints.get(backend)
        if endpoint is None:
            raise BackendUnavailable(backend, "not configured")
        url = endpoint.base_url.rstrip("/") + path
        try:
            async with self._in_flight, asyncio.timeout(endpoint.timeout_s):
                response = await self._http.request(
                    "GET",
                    url,
                    params=list(params),
                    headers=dict(endpoint.headers),
                    timeout=endpoint.timeout_s,
                )
        except (httpx.TimeoutException, TimeoutError):
            raise BackendUnavailable(backend, f"timed out after {endpoint.timeout_s:g}s on {path}") from None
        except httpx.HTTPError as error:
            raise BackendUnavailable(backend, f"unreachable on {path}: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise BackendUnavailable(
                backend, f"HTTP {response.status_code} on {path}: {response.text[:160]!r}"
            )
        return response

    async def get_json(self, backend: Backend, path: str, params: QueryParams = ()) -> Any:
        """GET `path` and decode its JSON body, or raise `BackendUnavailable` saying what was wrong."""
        response = await self.request(backend, "GET", path, params)
        try:
            return response.json()
        except ValueError:
            raise BackendUnavailable(
                backend, f"answered non-JSON on {path}: {response.text[:80]!r}"
            ) from None


def endpoints_from_settings(settings: RcaSettings) -> dict[Backend, BackendEndpoint]:
    """Endpoints for every backend whose base URL `settings` names, with their timeouts and headers."""
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
        timeout_s: float = getattr(settings, f"{backend.value}_timeout_s")
        result[backend] = BackendEndpoint(base_url, timeout_s, headers)
    return result
