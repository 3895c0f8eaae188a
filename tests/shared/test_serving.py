"""The one service skeleton: the same probe bodies everywhere, and one shutdown order in a process."""

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
import time

import httpx
import pytest
from starlette.applications import Starlette

from aegis.devkit.harness.ports import free_port
from aegis.shared.serving import Health, operations_routes


async def probe_with(health: Health) -> dict[str, tuple[int, object]]:
    async def probe() -> Health:
        return health

    transport = httpx.ASGITransport(app=Starlette(routes=operations_routes(probe)))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answers = {path: await client.get(path) for path in ("/healthz", "/readyz")}
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "process_resident_memory_bytes" in metrics.text  # the process registry, collectors included
    return {path: (r.status_code, r.json()) for path, r in answers.items()}


@pytest.mark.parametrize(
    ("health", "healthz", "readyz"),
    [
        (Health(), (200, {"status": "ok"}), (200, {"status": "ready"})),
        (
            Health(waiting="connecting to NATS"),
            (200, {"status": "ok"}),
            (503, {"status": "not ready", "reason": "connecting to NATS"}),
        ),
        (
            Health(failure="the NATS connection is closed", waiting="ignored"),
            (503, {"status": "failing", "reason": "the NATS connection is closed"}),
            (503, {"status": "not ready", "reason": "the NATS connection is closed"}),
        ),
        (
            Health(warnings=("model qwen: not pulled",)),
            (200, {"status": "ok"}),
            (200, {"status": "ready", "warnings": ["model qwen: not pulled"]}),
        ),
    ],
)
async def test_probe_bodies_follow_the_reported_health(
    health: Health, healthz: tuple[int, object], readyz: tuple[int, object]
) -> None:
    """/healthz fails only on a failure; /readyz also while waiting, and carries warnings when ready."""
    assert await probe_with(health) == {"/healthz": healthz, "/readyz": readyz}


SERVICE = textwrap.dedent(
    """
    import asyncio, sys
    from contextlib import asynccontextmanager
    from starlette.applications import Starlette
    from aegis.shared.serving import Health, operations_routes, serve

    @asynccontextmanager
    async def lifespan(app):
        yield
        print("lifespan closed", flush=True)

    async def probe():
        return Health()

    async def work(stopping):
        print("working", flush=True)
        await stopping.wait()
        await asyncio.sleep(0.3)
        print("work drained", flush=True)

    app = Starlette(routes=operations_routes(probe), lifespan=lifespan)
    serve(app, "127.0.0.1", int(sys.argv[1]), run=work)
    """
)


async def test_sigterm_drains_the_work_before_http_and_the_lifespan_close() -> None:
    """SIGTERM: the work finishes draining first, then the lifespan closes; the process exits 0."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVICE, str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "never ready"
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.to_thread(process.communicate, timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.decode().split("\n")[:3] == ["working", "work drained", "lifespan closed"]


def test_a_port_in_use_exits_3() -> None:
    """A service that cannot bind its port ends with exit status 3 (uvicorn logged why)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-c", SERVICE, str(port)], capture_output=True, timeout=30, check=False
        )
    assert done.returncode == 3, done.stderr
