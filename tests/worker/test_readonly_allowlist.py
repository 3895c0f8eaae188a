"""The read-only gate: anything but an allowlisted GET raises before a connection is even opened."""

import select
import socket
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from aegis.rca_worker.backends.readonly import (
    Backend,
    BackendEndpoint,
    BackendUnavailable,
    ForbiddenRequest,
    ReadOnlyClient,
    check_allowed,
    endpoints_from_settings,
)
from aegis.rca_worker.settings import WorkerSettings

FORBIDDEN = [
    (Backend.PROMETHEUS, "POST", "/api/v1/admin/tsdb/delete_series"),
    (Backend.PROMETHEUS, "GET", "/api/v1/admin/tsdb/delete_series"),
    (Backend.PROMETHEUS, "POST", "/api/v1/admin/tsdb/snapshot"),
    (Backend.PROMETHEUS, "POST", "/-/quit"),
    (Backend.PROMETHEUS, "GET", "/-/quit"),
    (Backend.PROMETHEUS, "POST", "/-/reload"),
    (Backend.PROMETHEUS, "POST", "/api/v1/query"),
    (Backend.PROMETHEUS, "DELETE", "/api/v1/series"),
    (Backend.PROMETHEUS, "GET", "/api/v1/label/../../-/quit"),
    (Backend.PROMETHEUS, "GET", "/api/v1/query/../admin/tsdb/clean_tombstones"),
    (Backend.LOKI, "POST", "/loki/api/v1/push"),
    (Backend.LOKI, "GET", "/loki/api/v1/push"),
    (Backend.LOKI, "POST", "/loki/api/v1/delete"),
    (Backend.LOKI, "DELETE", "/loki/api/v1/delete"),
    (Backend.JAEGER, "DELETE", "/api/traces/0af7651916cd43dd8448eb211c80319c"),
    (Backend.JAEGER, "POST", "/api/traces"),
    (Backend.JAEGER, "PUT", "/api/services"),
]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket that accepts connections and never answers: it counts who knocked."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


def connections(sock: socket.socket, wait_s: float = 0.3) -> int:
    """How many connections reached `sock` within `wait_s`."""
    count = 0
    while select.select([sock], [], [], wait_s)[0]:
        conn, _ = sock.accept()
        conn.close()
        count += 1
        wait_s = 0.05
    return count


def client_for(http: httpx.AsyncClient, sock: socket.socket) -> ReadOnlyClient:
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return ReadOnlyClient(http, {b: BackendEndpoint(url, 0.3, attempts=1) for b in Backend})


@pytest.mark.parametrize(("backend", "method", "path"), FORBIDDEN)
async def test_non_query_calls_raise_before_a_socket_opens(
    backend: Backend, method: str, path: str, listener: socket.socket, http: httpx.AsyncClient
) -> None:
    """A write, admin or shutdown call raises ForbiddenRequest and no connection reaches the backend."""
    client = client_for(http, listener)
    with pytest.raises(ForbiddenRequest):
        await client.request(backend, method, path)
    assert connections(listener) == 0


async def test_an_allowed_read_does_reach_the_backend(
    listener: socket.socket, http: httpx.AsyncClient
) -> None:
    """The positive control: an allowlisted GET connects (and a silent backend becomes BackendUnavailable)."""
    client = client_for(http, listener)
    with pytest.raises(BackendUnavailable, match="timed out"):
        await client.request(Backend.PROMETHEUS, "GET", "/api/v1/query_range")
    assert connections(listener) == 1


@pytest.mark.parametrize(
    ("backend", "path"),
    [
        (Backend.PROMETHEUS, "/api/v1/label/service/values"),
        (Backend.PROMETHEUS, "/api/v1/series"),
        (Backend.LOKI, "/loki/api/v1/label/app/values"),
        (Backend.LOKI, "/loki/api/v1/query_range"),
        (Backend.JAEGER, "/api/services/payment/operations"),
        (Backend.JAEGER, "/api/traces/0af7651916cd43dd8448eb211c80319c"),
        (Backend.JAEGER, "/api/dependencies"),
    ],
)
def test_documented_read_paths_are_allowed(backend: Backend, path: str) -> None:
    """Every read path DESIGN.md lists passes the gate."""
    check_allowed(backend, "GET", path)


def test_settings_give_loki_its_tenant_and_every_backend_its_auth_and_timeout() -> None:
    """LOKI_TENANT_ID becomes X-Scope-OrgID; auth headers and per-backend timeouts are applied."""
    settings = WorkerSettings(
        prometheus_base_url="http://prom:9090",
        loki_base_url="http://loki:3100",
        loki_tenant_id="team-a",
        loki_auth_header=SecretStr("Bearer s3cret"),
        loki_timeout_s=7.0,
    )
    endpoints = endpoints_from_settings(settings)
    assert set(endpoints) == {Backend.PROMETHEUS, Backend.LOKI}
    assert endpoints[Backend.LOKI].headers == {"Authorization": "Bearer s3cret", "X-Scope-OrgID": "team-a"}
    assert endpoints[Backend.LOKI].timeout_s == 7.0
    assert endpoints[Backend.PROMETHEUS].headers == {}
