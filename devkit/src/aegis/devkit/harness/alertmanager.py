"""The real Alertmanager (Debian's `prometheus-alertmanager`) posting webhooks to alert-ingest."""

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from aegis.devkit.harness.ports import free_port

CONFIG = """\
route:
  receiver: aegis
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: aegis
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


class Alertmanager:
    """One Alertmanager process on a loopback port, single node (no cluster gossip)."""

    def __init__(self, binary: Path, workdir: Path, webhook_url: str, token: str) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._config = CONFIG.format(webhook_url=webhook_url, token=json.dumps(token))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(self._config)
        log = (self.workdir / "alertmanager.log").open("ab")
        self._process = subprocess.Popen(
            [
                str(self.binary),
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=info",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"alertmanager not ready: {self.log_tail()}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def log_tail(self) -> str:
        path = self.workdir / "alertmanager.log"
        return path.read_text()[-3000:] if path.exists() else ""

    async def fire(
        self,
        labels: dict[str, str],
        annotations: dict[str, str],
        starts_at: datetime,
        ends_at: datetime | None = None,
    ) -> None:
        """Post one alert through Alertmanager's v2 API, as Prometheus would (ended when `ends_at`)."""
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": starts_at.isoformat(),
            "generatorURL": "http://prometheus.example:9090/graph",
        }
        if ends_at is not None:
            alert["endsAt"] = ends_at.isoformat()
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/api/v2/alerts", json=[alert])
            response.raise_for_status()

    def __enter__(self) -> "Alertmanager":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
