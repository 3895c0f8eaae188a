"""The bounded HTTP edge, against alert-ingest served by a real uvicorn: headers, bodies, deadlines
and per-client limits are enforced before a route reads the body, and memory stays bounded."""

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from pydantic import SecretStr

from aegis.alert_ingest.edge import ClientBudget
from aegis.devkit.harness.ingest_server import serving_ingest
from aegis.devkit.harness.services import ServiceProcess
from tests.alert_ingest.conftest import SettingsFactory

ASK = {"question": "payment?", "model": "none"}


async def raw_exchange(
    base_url: str, head: bytes, body: bytes = b"", wait_s: float = 10.0
) -> tuple[int, str]:
    """Send `head` (and `body`) on a raw socket; the status and the head of the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), wait_s)
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.decode("latin-1")


async def test_the_token_is_checked_before_the_body_is_sent(ingest_settings: SettingsFactory) -> None:
    """A 50 MB upload without the token is answered 401 after its headers alone."""
    settings = ingest_settings(aegis_webhook_token=SecretStr("s3cret"))
    async with serving_ingest(settings) as url:
        head = (
            b"POST /api/ops/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n"
        )
        status, _ = await raw_exchange(url, head)
    assert status == 401


async def test_an_8_mb_header_is_refused_with_431(ingest_settings: SettingsFactory) -> None:
    """A header block past HTTP_MAX_HEADER_BYTES is refused on every route, the webhook included."""
    async with serving_ingest(ingest_settings()) as url:
        huge = b"X-Padding: " + b"a" * (8 * 1024 * 1024) + b"\r\n"
        for path in (b"/api/ops/analyze", b"/alertmanager/webhook"):
            head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + huge + b"Content-Length: 2\r\n\r\n{}"
            status, _ = await raw_exchange(url, head)
            assert status == 431, path


async def test_bodies_over_the_limit_or_too_slow_are_413_and_408(ingest_settings: SettingsFactory) -> None:
    """A declared or chunked body over API_MAX_BODY_BYTES is 413; one still arriving after
    HTTP_BODY_TIMEOUT_S is 408, on the API and on the webhook alike."""
    settings = ingest_settings(api_max_body_bytes=1024, http_body_timeout_s=0.5)
    async with serving_ingest(settings) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            declared = await client.post("/api/ops/analyze", content=b"x" * 2048)

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(8):
                    yield b"y" * 512

            chunked = await client.post("/api/ops/analyze", content=chunks())
        for path in (b"/api/ops/analyze", b"/alertmanager/webhook"):
            head = (
                b"POST "
                + path
                + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            slow, _ = await raw_exchange(url, head, b'{"question"')
            assert slow == 408, path
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert "1024 bytes" in chunked.json()["detail"]


async def test_a_client_over_its_rate_or_open_streams_gets_429_with_retry_after(
    ingest_settings: SettingsFactory,
) -> None:
    """Past API_REQUESTS_PER_MINUTE, or with API_STREAMS_PER_CLIENT streams open, 429 and Retry-After."""
    settings = ingest_settings(api_requests_per_minute=3, api_streams_per_client=1, analyze_timeout_s=5)
    async with serving_ingest(settings) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(100):  # connected to NATS: the stream is then answered, not refused with 503
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        async with client.stream("POST", "/api/ops/analyze/stream", json=ASK) as first:
            assert first.status_code == 200
            second = await client.post("/api/ops/analyze/stream", json=ASK)
            assert second.status_code == 429
            assert int(second.headers["Retry-After"]) >= 1
        answers = [await client.post("/api/ops/analyze", content=b"{}") for _ in range(3)]
    assert [a.status_code for a in answers][-1] == 429
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_the_client_budget_refills_over_time_and_forgets_closed_streams() -> None:
    """A token per 60/rate seconds comes back; a closed stream frees its slot."""
    now = [0.0]
    budget = ClientBudget(per_minute=2, streams=1, clock=lambda: now[0])
    assert budget.admit("a", stream=True) is None
    assert budget.admit("a", stream=True) == 5.0
    budget.closed("a")
    assert budget.admit("a", stream=False) is None
    wait = budget.admit("a", stream=False)
    assert wait is not None
    assert 29 < wait <= 30
    now[0] = 30.0
    assert budget.admit("a", stream=False) is None
    assert budget.admit("b", stream=False) is None, "clients are counted apart"


async def test_memory_stays_bounded_under_eight_parallel_50_mb_unauthenticated_uploads(
    nats_url: str, tmp_path: Path
) -> None:
    """alert-ingest as a process, no token configured: 8 × 50 MB chunked uploads to the API and
    the webhook at once are all refused, and its peak resident memory stays ≤ 120 MB."""
    service = ServiceProcess.http_service(
        "alert-ingest",
        "aegis-alert-ingest",
        {"NATS_URL": nats_url, "LOG_LEVEL": "WARNING"},
        tmp_path / "ingest.log",
    )
    with service:
        await service.ready()
        url = f"http://127.0.0.1:{service.port}"

        async def upload(path: str) -> int:
            async def body() -> AsyncIterator[bytes]:
                block = b"z" * (1024 * 1024)
                for _ in range(50):
                    yield block

            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                try:
                    return (
                        await client.post(path, content=body(), headers={"Content-Type": "application/json"})
                    ).status_code
                except httpx.HTTPError:
                    return 0  # the server closed the connection after refusing: also a refusal

        statuses = await asyncio.gather(
            *(upload(path) for path in ["/api/ops/analyze", "/alertmanager/webhook"] * 4)
        )
        status = Path(f"/proc/{service.pid}/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    assert all(code in (0, 413) for code in statuses), statuses
    print(f"alert-ingest peak RSS under 8 x 50 MB uploads: {peak_kb / 1024:.0f} MB")
    assert peak_kb <= 120 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
    assert os.path.getsize(tmp_path / "ingest.log") < 1_000_000


async def test_headers_that_trickle_in_are_cut_off_with_408(nats_url: str, tmp_path: Path) -> None:
    """alert-ingest as deployed (its uvicorn protocol): headers not complete within
    HTTP_HEADER_TIMEOUT_S get 408 and the connection closed; a prompt request still works."""
    env = {"NATS_URL": nats_url, "LOG_LEVEL": "WARNING", "HTTP_HEADER_TIMEOUT_S": "1"}
    service = ServiceProcess.http_service("alert-ingest", "aegis-alert-ingest", env, tmp_path / "ingest.log")
    with service:
        await service.ready()
        url = f"http://127.0.0.1:{service.port}"
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        started = asyncio.get_running_loop().time()
        writer.write(b"POST /api/ops/analyze HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        waited = asyncio.get_running_loop().time() - started
        writer.close()
        async with httpx.AsyncClient(base_url=url) as client:
            healthy = await client.get("/healthz")
    assert answer.startswith(b"HTTP/1.1 408")
    assert 0.9 <= waited < 5
    assert healthy.status_code == 200
