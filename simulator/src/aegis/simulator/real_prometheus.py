"""A real Prometheus holding a scenario's history: backfilled with promtool, served on a loopback port.

Used by the tests and the evidence benchmark, so that the PromQL the engine writes is evaluated by
Prometheus itself. The scenario must end in the recent past (see `recent_start`) so that the data
is inside the default retention and the query range looks like "the last 40 minutes".
"""

import subprocess
import time
from pathlib import Path

from aegis.simulator.openmetrics import write_openmetrics_file
from aegis.simulator.scenarios import STEP_S, STEPS
from aegis.simulator.server_process import LoopbackServer
from aegis.simulator.telemetry import ScenarioTelemetry

CONFIG = "global:\n  scrape_interval: {scrape}\n  evaluation_interval: 15s\nscrape_configs: []\n"


def recent_start(now: float | None = None, margin_s: float = 120.0) -> float:
    """A scenario start such that its last step is `margin_s` before now, aligned to the step."""
    now = time.time() if now is None else now
    start = now - margin_s - STEPS * STEP_S
    return start - start % STEP_S


class RealPrometheus(LoopbackServer):
    """`with RealPrometheus(telemetry, prometheus, promtool) as prom: prom.url` — backfill, start, stop."""

    ready_path = "/-/ready"

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
        super().__init__(prometheus)
        self.telemetry = telemetry
        self.openmetrics = openmetrics
        self.scrape_interval = scrape_interval
        self.promtool = promtool

    def command(self) -> list[str]:
        """Backfill the history with promtool, then serve it; `RuntimeError` if promtool fails."""
        data, metrics, config = self.root / "data", self.root / "metrics.om", self.root / "prometheus.yml"
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
        return [
            str(self.binary),
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=30d",
        ]
