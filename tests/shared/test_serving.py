"""The one service skeleton: the same probe bodies everywhere, and one shutdown order in a process."""

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from aegis.devkit.harness.services import ServiceProcess
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


async def test_sigterm_drains_the_work_before_http_and_the_lifespan_close(tmp_path: Path) -> None:
    """SIGTERM: the work finishes draining first, then the lifespan closes; the process exits 0."""
    command = [sys.executable, "-c", SERVICE, "{port}"]
    log = tmp_path / "service.log"
    service = ServiceProcess.on_free_port("service", command, dict(os.environ), log, "/readyz")
    with service:
        await service.ready(timeout=20)
        status = await asyncio.to_thread(service.stop, 20)
    output = service.output()
    assert status == 0, output
    said = [line for line in output.splitlines() if line in ("working", "work drained", "lifespan closed")]
    assert said == ["working", "work drained", "lifespan closed"], output


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
