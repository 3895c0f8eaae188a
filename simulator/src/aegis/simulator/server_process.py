"""One way to run a real server binary on loopback for tests and benchmarks.

Prometheus (here), Loki and VictoriaTraces (`aegis.devkit.harness.real_backends`) all start the same
way: a temporary data folder, a free loopback port, a log file, a readiness URL polled until 200,
and a stop that terminates, then kills, and removes the folder. Subclasses say only the command
line (`command`) and what to prepare before it runs.
"""

import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LoopbackServer:
    """A server process on a free loopback port, ready when `ready_path` answers 200."""

    ready_path = "/ready"

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix=f"aegis-{binary.name}-")
        self.root = Path(self._dir.name)
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line that starts the server (after anything it needs is prepared)."""
        raise NotImplementedError

    def start(self, ready_timeout_s: float = 60.0) -> Self:
        """Start and wait until ready; `RuntimeError` with the log's tail if it never is."""
        command = self.command()
        log = (self.root / "server.log").open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.binary.name} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.binary.name} not ready after {ready_timeout_s}s: {self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the server's log."""
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the server and remove its data."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
