"""The real Alertmanager (Debian's `prometheus-alertmanager`) posting webhooks to alert-ingest."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from aegis.simulator.server_process import LoopbackServer

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


class Alertmanager(LoopbackServer):
    """One Alertmanager process on a loopback port, single node (no cluster gossip), its data in a
    temporary folder; ready when `/-/ready` answers."""

    ready_path = "/-/ready"

    def __init__(self, binary: Path, webhook_url: str, token: str) -> None:
        super().__init__(binary)
        self._config = CONFIG.format(webhook_url=webhook_url, token=json.dumps(token))

    def command(self) -> list[str]:
        """`alertmanager` with the webhook receiver's configuration, listening on loopback only."""
        config = self.root / "alertmanager.yml"
        config.write_text(self._config)
        return [
            str(self.binary),
            f"--config.file={config}",
            f"--storage.path={self.root / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=info",
        ]

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
