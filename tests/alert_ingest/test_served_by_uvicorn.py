"""The `aegis-alert-ingest` process on a real socket: body limits on the wire, config errors, SIGTERM.

These need a real server: an in-process transport cannot show what happens to the bytes of a
12 MB upload the service refuses, nor how the process exits.
"""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client

from aegis.devkit.harness.services import ServiceProcess
from tests.alert_ingest.conftest import JSON, WEBHOOK, alert_messages
from tests.alert_ingest.payloads import encode, webhook

MIB = 1024 * 1024
BODY_SIZE = 12 * MIB
CHUNK = 64 * 1024


def ingest_command() -> list[str]:
    script = Path(sys.executable).parent / "aegis-alert-ingest"
    return [str(script)] if script.exists() else [sys.executable, "-m", "aegis.alert_ingest"]


@pytest.fixture
async def served(nats_url: str, nats_client: Client, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    """The console script serving on a free loopback port, ready (connected to the test's NATS)."""
    env = {**os.environ, "NATS_URL": nats_url, "HTTP_HOST": "127.0.0.1", "LOG_FORMAT": "json"}
    log = tmp_path / "alert-ingest.log"
    with ServiceProcess.on_free_port("alert-ingest", ingest_command(), env, log, "/readyz") as service:
        await service.ready(timeout=30)
        yield service


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    body_bytes_sent: int
    closed_by_server: bool


async def raw_post(port: int, headers: dict[str, str], chunks: Iterator[bytes], chunked: bool) -> RawAnswer:
    """POST over a bare socket, writing the body slowly while reading, as Go's client (Alertmanager) does.

    httpx would write the whole body before reading and so see a reset instead of the early 413.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {WEBHOOK} HTTP/1.1", "Host: alert-ingest", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    response = asyncio.create_task(read_response(reader))
    sent = 0
    try:
        for chunk in chunks:
            if response.done():
                break
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0.001)
    except ConnectionError:
        pass
    status, answer_headers, body, closed = await asyncio.wait_for(response, timeout=10)
    writer.close()
    return RawAnswer(status, answer_headers, body, sent, closed)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes, bool]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *header_lines = head.strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    try:
        closed = await asyncio.wait_for(reader.read(1), timeout=5) == b""
    except ConnectionError:
        closed = True
    return int(status_line.split()[1]), headers, body, closed


def twelve_megabytes() -> Iterator[bytes]:
    for _ in range(BODY_SIZE // CHUNK):
        yield b" " * CHUNK


async def assert_serves_valid_webhook(served: ServiceProcess, nc: Client) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        response = await client.post(WEBHOOK, content=encode(webhook()), headers=JSON)
    assert response.status_code == 200, response.text
    assert len(await alert_messages(nc)) == 1


async def test_declared_12mb_body_is_refused_on_its_headers(
    served: ServiceProcess, nats_client: Client
) -> None:
    """Content-Length: 12 MB → 413 stating the limit before a body byte is sent; connection closed."""
    headers = {**JSON, "Content-Length": str(BODY_SIZE)}

    answer = await raw_post(served.port, headers, iter(()), chunked=False)

    assert answer.status == 413
    assert f"limit of {MIB} bytes" in answer.body.decode()
    assert answer.body_bytes_sent == 0
    assert answer.closed_by_server
    await assert_serves_valid_webhook(served, nats_client)


async def test_chunked_12mb_body_is_refused_without_reading_it_all(
    served: ServiceProcess, nats_client: Client
) -> None:
    """A chunked 12 MB upload → 413 once past the 1 MiB limit; the server closes before the sender is done."""
    headers = {**JSON, "Transfer-Encoding": "chunked"}

    answer = await raw_post(served.port, headers, twelve_megabytes(), chunked=True)

    assert answer.status == 413
    assert f"limit of {MIB} bytes" in answer.body.decode()
    assert answer.closed_by_server
    assert answer.body_bytes_sent < BODY_SIZE // 2
    await assert_serves_valid_webhook(served, nats_client)


async def test_sender_vanishing_mid_body_is_not_a_server_error(
    served: ServiceProcess, nats_client: Client
) -> None:
    """A sender that disconnects mid-body → nothing published, no error logged, still serving."""
    body = encode(webhook())
    _, writer = await asyncio.open_connection("127.0.0.1", served.port)
    head = (
        f"POST {WEBHOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    )
    writer.write(head.encode() + b"\r\n\r\n" + body[: len(body) // 2])
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.2)

    await assert_serves_valid_webhook(served, nats_client)
    log = served.output()
    assert "sender disconnected before the body was complete" in log
    assert "Traceback" not in log
    assert '"level": "error"' not in log


async def test_sigterm_stops_gracefully(served: ServiceProcess) -> None:
    """SIGTERM → shutdown completes (NATS drained); then the process ends by SIGTERM, like uvicorn does."""
    status = await asyncio.to_thread(served.stop, 15)

    assert status in (0, -signal.SIGTERM)
    assert "alert-ingest stopped" in served.output()


def test_malformed_port_stops_start_up_naming_the_variable() -> None:
    """HTTP_PORT=eighty → exit status 2 and one sentence on stderr naming HTTP_PORT."""
    env = {**os.environ, "HTTP_PORT": "eighty"}

    result = subprocess.run(ingest_command(), env=env, capture_output=True, timeout=30, check=False)

    assert result.returncode == 2
    assert b"HTTP_PORT" in result.stderr
    assert b"Traceback" not in result.stderr
