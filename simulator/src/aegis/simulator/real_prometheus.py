"""A real Prometheus holding a scenario's history: backfilled with promtool, served on a loopback port.

Used by the tests and the evidence benchmark, so that the PromQL the engine writes is evaluated by
Prometheus itself. The scenario must end in the recent past (see `recent_start`) so that the data
is inside the default retention and the query range looks like "the last 40 minutes".
"""

import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from aegis.simulator.openmetrics import write_openmetrics_file
from aegis.simulator.scenarios import STEP_S, STEPS
from aegis.simulator.telemetry import ScenarioTelemetry

CONFIG = "global:\n  scrape_interval: {scrape}\n  evaluation_interval: 15s\nscrape_configs: []\n"


def recent_start(now: float | None = None, margin_s: float = 120.0) -> float:
    """A scenario start such that its last step is `margin_s` before now, aligned to the step."""
    now = time.time() if now is None else now
    start = now - margin_s - STEPS * STEP_S
    return start - start % STEP_S


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RealPrometheus:
    """`with RealPrometheus(telemetry, prometheus, promtool) as prom: prom.url` — backfill, start, stop."""

    def __init__(
        self,
        telemetry: ScenarioTelemetry | None,
        prometheus: Path,
        promtool: Path,
        *,
        openmetrics: Path | None = None,
        scrape_interval: str = "15s",
    ) -> None:
        """Serve `telemetry`'s history, or an OpenMetrics file written elsewhere (`openmetrics`)."""
        if (telemetry is None) == (openmetrics is None):
            raise ValueError("give either telemetry or openmetrics")
        self.telemetry = telemetry
        self.openmetrics = openmetrics
        self.scrape_interval = scrape_interval
        self.prometheus = prometheus
        self.promtool = promtool
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="aegis-prom-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout_s: float = 30.0) -> Self:
        """Backfill the history and start the server; raise `RuntimeError` if it never gets ready."""
        root = Path(self._dir.name)
        data, metrics, config = root / "data", root / "metrics.om", root / "prometheus.yml"
        if self.telemetry is not None:
            write_openmetrics_file(self.telemetry, metrics)
        else:
            metrics = self.openmetrics or metrics
        config.write_text(CONFIG.format(scrape=self.scrape_interval), encoding="utf-8")
        backfill = subprocess.run(
            [str(self.promtool), "tsdb", "create-blocks-from", "openmetrics", str(metrics), str(data)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if backfill.returncode != 0:
            raise RuntimeError(f"promtool backfill failed: {backfill.stderr.decode()[-500:]}")
        log = (root / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                str(self.prometheus),
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(root / 'prometheus.log').read_text()[-800:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:  # noqa: S310 - loopback http
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {ready_timeout_s}s")

    def stop(self) -> None:
        """Stop the server and remove its data."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
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
