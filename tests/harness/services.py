"""The four services as OS processes on loopback, for the demo, the chaos run and its CI test.

Each runs from its console script with the settings a deployment would give it through the
environment, logs to a file of its own, and can be killed (SIGKILL, as an OOM kill or a lost node
would) and started again with the same settings. The simulator's Prometheus/Loki/Jaeger fakes run
in a process of their own too (`SimulatedBackends`).
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from tests.harness.ports import free_port

BIN = Path(sys.executable).parent
ESTATE_SERVICES = (
    "frontend,cart,checkout,payment,shipping,currency,email,recommendation,catalog,ad,redis,postgres"
)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that `finally:` stops the child processes (they run in a
    session of their own, which keeps a terminal's Ctrl-C for the parent to handle in order)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


@dataclass
class ServiceProcess:
    """One service: its command, environment and log file; `ready_url` answers 200 when it is ready."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str | None = None
    starts: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing flushed."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until `ready_url` answers 200 (or at once without one); raise with the log's tail otherwise."""
        deadline = time.monotonic() + timeout
        while self.ready_url is not None:
            if not self.running:
                raise RuntimeError(f"{self.name} exited; its log ends:\n{self.log_tail()}")
            try:
                if httpx.get(self.ready_url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not ready within {timeout}s; its log ends:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@dataclass(frozen=True)
class Peers:
    """Where the services find NATS, the Feishu fakes and the observability backends."""

    nats_url: str
    feishu_url: str
    long_connection_url: str
    app_id: str
    app_secret: str
    chat_id: str
    prometheus_url: str
    loki_url: str
    jaeger_url: str


def service_processes(
    workdir: Path, peers: Peers, extra_env: dict[str, str] | None = None, workers: int = 1
) -> dict[str, ServiceProcess]:
    """alert-ingest, notifier, gateway-feishu and `workers` rca-workers for `peers`, not started."""
    common = {
        **os.environ,
        "NATS_URL": peers.nats_url,
        "LOG_FORMAT": "json",
        "LOCALE": "zh",
        "HTTP_HOST": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    feishu = {"FEISHU_APP_ID": peers.app_id, "FEISHU_APP_SECRET": peers.app_secret}

    def service(name: str, script: str, env: dict[str, str], http: bool = True) -> ServiceProcess:
        port = free_port()
        values = {**common, **env, "HTTP_PORT": str(port)}
        ready = f"http://127.0.0.1:{port}/readyz" if http else None
        return ServiceProcess(name, [str(BIN / script)], values, workdir / f"{name}.log", ready)

    processes = [
        service("alert-ingest", "aegis-alert-ingest", {}),
        service(
            "notifier",
            "aegis-notifier",
            {
                **feishu,
                "NOTIFIER_SINK": "feishu",
                "FEISHU_BASE_URL": peers.feishu_url,
                "FEISHU_DEFAULT_CHAT_ID": peers.chat_id,
                "NOTIFIER_METRICS_PORT": str(free_port()),
                "NOTIFIER_BACKOFF_S": "0.5,1,2",
            },
            http=False,
        ),
        service(
            "gateway-feishu",
            "aegis-gateway-feishu",
            {
                **feishu,
                "FEISHU_EVENT_MODE": "ws",
                "FEISHU_BASE_URL": peers.long_connection_url,
                "AEGIS_KNOWN_SERVICES": ESTATE_SERVICES,
            },
        ),
    ]
    backends = {
        "PROMETHEUS_BASE_URL": peers.prometheus_url,
        "LOKI_BASE_URL": peers.loki_url,
        "JAEGER_BASE_URL": peers.jaeger_url,
    }
    processes += [
        service(f"rca-worker-{n}" if workers > 1 else "rca-worker", "aegis-rca-worker", backends)
        for n in range(1, workers + 1)
    ]
    return {p.name: p for p in processes}


class SimulatedBackends:
    """`python -m aegis.simulator.serve` for one scenario: its URLs once started."""

    def __init__(self, workdir: Path, fault: str, root: str, seed: int = 1, latency_ms: float = 0.0) -> None:
        self.args = ["--fault", fault, "--root", root, "--seed", str(seed), "--latency-ms", str(latency_ms)]
        self.log_path = workdir / "simulator.log"
        self.urls: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with self.log_path.open("w") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "aegis.simulator.serve", *self.args],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator exited: {self.log_path.read_text()[-2000:]}")
        self.urls = {k: str(v) for k, v in json.loads(line).items()}

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
