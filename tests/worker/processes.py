"""Worker processes for the reliability tests: `python -m aegis.rca_worker`, as deployed.

Each gets its own HTTP port; readiness is its `/readyz`, and how many questions it answered is read
from its `/metrics` — what an operator would look at.
"""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.ports import free_port


class WorkerProcess:
    """One `aegis-rca-worker` process with the given environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "HTTP_PORT": str(self.port), "LOG_FORMAT": "json"}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the process (returns at once; see `ready`)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aegis.rca_worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait until `/readyz` answers 200."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as http:
            while True:
                assert self.process is not None
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (
                        await http.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1.0)
                    ).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"worker not ready after {timeout}s: {self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.2)

    async def answered(self) -> float:
        """`aegis_rca_analyses_total` over the answered and degraded outcomes, from `/metrics`."""
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2.0)).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            if family.name == "aegis_rca_analyses":
                total += sum(
                    s.value
                    for s in family.samples
                    if s.name.endswith("_total") and s.labels.get("outcome") in ("answered", "degraded")
                )
        return total

    def kill(self) -> None:
        """SIGKILL: no shutdown, no ack, no goodbye."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then wait (SIGKILL after 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def worker_env(nats_url: str, urls: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a test worker: NATS, the loopback backends, short timings, English."""
    env = {
        "NATS_URL": nats_url,
        **{name.upper(): url for name, url in urls.items()},
        "BASELINE_LOOKBACK_S": "0",
        "RCA_ACK_WAIT_S": "5",
        "RCA_BACKOFF_S": "0.1",
        "RCA_SHUTDOWN_GRACE_S": "2",
        "LOCALE": "en",
        "DEFAULT_MODEL": "none",
    }
    return {**env, **extra}
