"""One way to run a real server binary on loopback for tests and benchmarks.

Prometheus (here), Loki and VictoriaTraces (`aegis.devkit.harness.real_backends`) all start the same
way: a temporary data folder, a free loopback port, a log file, a readiness URL polled until 200,
and a stop that terminates, then kills, and removes the folder. Subclasses say only the command
line (`command`) and what to prepare before it runs.

A port found free is not reserved: on a busy machine another process can bind it between
`free_port()` and the server's own bind. So a server the harness runs in-process binds first and is
handed the socket (`reserved_socket`), and a child process counts as ready only when it is the one
listening on its port (`listens_on`: another process's 200 on that port is not its readiness); a
child that exited because its port was taken (`port_was_taken`) is started again on another one
(`retry_on_taken_port`, the one loop every harness server uses).
"""

import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

# How many ports a child may find taken before its start fails.
PORT_ATTEMPTS = 5

# What Python, Go and C servers log when their port is bound by another process.
_ADDRESS_IN_USE = re.compile(r"address already in use|EADDRINUSE|\[Errno (?:48|98)\]", re.IGNORECASE)
_LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (not reserved: see the module)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reserved_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:`port` (0: one the system picks), not yet listening.

    Nothing else can bind the port while it is open (no SO_REUSEADDR on the first bind), so an
    in-process server handed it serves exactly there. Binding again to a port given (a restart)
    sets SO_REUSEADDR, which lets the bind pass the previous server's connections in TIME_WAIT.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def log_since(path: Path, offset: int) -> str:
    """What a child wrote to its log file from byte `offset` on (its start's, not an earlier one's)."""
    if not path.exists():
        return ""
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def port_was_taken(log: str) -> bool:
    """Whether a server's log says it could not bind because the address was in use."""
    return _ADDRESS_IN_USE.search(log) is not None


def listening_inodes(tables: list[str], port: int) -> set[str]:
    """The socket inodes listening on `port` in /proc/net/tcp-format `tables`."""
    inodes: set[str] = set()
    for table in tables:
        for row in table.splitlines()[1:]:
            fields = row.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds a listening TCP socket on `port`; None where the system does not
    tell (no /proc: not Linux), in which case a 200 on the port is all readiness can go by."""
    proc = Path("/proc")
    tables = [proc / "net" / "tcp", proc / "net" / "tcp6"]
    if not tables[0].exists():
        return None
    inodes = listening_inodes([t.read_text() for t in tables if t.exists()], port)
    if not inodes:
        return False
    try:
        links = {os.readlink(fd) for fd in (proc / str(pid) / "fd").iterdir()}
    except OSError:  # the process ended
        return False
    return any(f"socket:[{inode}]" in links for inode in inodes)


class PortTaken(RuntimeError):
    """A child server exited because another process bound its port first."""


def wait_served(
    process: "subprocess.Popen[bytes]",
    port: int,
    answers: Callable[[], bool],
    log: Callable[[], str],
    name: str,
    timeout_s: float,
) -> None:
    """Return once `answers()` (its readiness probe passes) while `process` listens on `port`.

    Raises `PortTaken` when it exited because the port was in use, `RuntimeError` with the log's
    tail when it exited otherwise or is not ready within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            text = log()
            if port_was_taken(text):
                raise PortTaken(f"{name}: port {port} was taken: {text[-1500:]}")
            raise RuntimeError(f"{name} exited; its log ends:\n{text[-3000:]}")
        if answers() and listens_on(process.pid, port) is not False:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not ready within {timeout_s:g}s; its log ends:\n{log()[-3000:]}")
        time.sleep(0.1)


def retry_on_taken_port(serve: Callable[[], None], move_to: Callable[[int], None] | None) -> None:
    """Run `serve` (start, or wait for, a child until it is ready); each time it raises `PortTaken`,
    hand `move_to` a fresh free port and run `serve` again, `PORT_ATTEMPTS` times in all.

    `move_to` None: the port may not move (a restart keeps its URL), so a taken port is final. Every
    other error, and `PortTaken` on the last attempt, is raised as it came.
    """
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            serve()
            return
        except PortTaken:
            if move_to is None or attempt == PORT_ATTEMPTS:
                raise
            move_to(free_port())


class LoopbackServer:
    """A server process on a free loopback port, ready when `ready_path` answers 200."""

    ready_path = "/ready"

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix=f"aegis-{binary.name}-")
        self.root = Path(self._dir.name)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts the server on `port` (after anything it needs is prepared)."""
        raise NotImplementedError

    def start(self, ready_timeout_s: float = 60.0) -> Self:
        """Start and wait until ready, on another port when its port was taken; `RuntimeError` with
        the log's tail if it never is."""

        def serve() -> None:
            with (self.root / "server.log").open("wb") as log:
                self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
            wait_served(
                self._process,
                self.port,
                self._answers_ready,
                self.log_tail,
                self.binary.name,
                ready_timeout_s,
            )

        try:
            retry_on_taken_port(serve, self._move_to)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _move_to(self, port: int) -> None:
        self.port = port

    def _answers_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as answer:  # noqa: S310 - loopback
                return bool(answer.status == 200)
        except OSError:
            return False

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
