"""Real Loki and VictoriaTraces (Jaeger's query API) on loopback, for the tests and the evidence bench.

The binaries come from `../shared/bin` (unpacked by `.ci/run`) through `AEGIS_LOKI_BIN` and
`AEGIS_VICTORIATRACES_BIN`; without them a test skips with the reason, and fails under
`AEGIS_REQUIRE_INTEGRATION=1`. Loki runs multi-tenant as in production (`auth_enabled: true`, so
`X-Scope-OrgID` is required); VictoriaTraces takes OTLP/HTTP protobuf and serves the Jaeger API under
`/select/jaeger`. Both keep their data in a temporary folder removed on stop.
"""

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from aegis.devkit.harness.binaries import integration_required
from aegis.devkit.harness.ports import free_port
from aegis.simulator.server_process import LoopbackServer

LOKI_CONFIG = """\
auth_enabled: true
server:
  {{http_listen_address: 127.0.0.1, http_listen_port: {port}, grpc_listen_address: 127.0.0.1,
   grpc_listen_port: {grpc}, log_level: warn}}
common:
  instance_addr: 127.0.0.1
  path_prefix: {data}
  storage: {{filesystem: {{chunks_directory: {data}/chunks, rules_directory: {data}/rules}}}}
  replication_factor: 1
  ring: {{kvstore: {{store: inmemory}}}}
memberlist: {{bind_addr: [127.0.0.1]}}
schema_config:
  configs:
    - {{from: 2020-10-24, store: tsdb, object_store: filesystem, schema: v13,
       index: {{prefix: index_, period: 24h}}}}
limits_config:
  {{reject_old_samples: false, ingestion_rate_mb: 64, ingestion_burst_size_mb: 128,
   per_stream_rate_limit: 64MB, per_stream_rate_limit_burst: 128MB}}
analytics: {{reporting_enabled: false}}
"""


def server_binary(variable: str, what: str) -> Path:
    """The binary named by `variable`, or a skip saying how to get it (a failure under CI)."""
    value = os.environ.get(variable, "")
    if value and Path(value).is_file() and os.access(value, os.X_OK):
        return Path(value)
    reason = f"{variable} does not name an executable {what} (`.ci/run` unpacks it from ../shared/bin)"
    if integration_required():
        pytest.fail(f"AEGIS_REQUIRE_INTEGRATION=1 but {reason}")
    pytest.skip(reason)


class RealLoki(LoopbackServer):
    """Loki 3.3.2, single binary, filesystem storage, multi-tenant."""

    def command(self) -> list[str]:
        """`loki -config.file=…` with the README's loopback configuration."""
        config = self.root / "loki.yaml"
        config.write_text(LOKI_CONFIG.format(port=self.port, grpc=free_port(), data=self.root / "data"))
        return [str(self.binary), f"-config.file={config}"]

    def push(self, tenant: str, streams: list[dict[str, Any]]) -> None:
        """Push streams (`{"stream": labels, "values": [[ns, line], …]}`) for `tenant`."""
        for first in range(0, len(streams), 50):
            answer = httpx.post(
                f"{self.url}/loki/api/v1/push",
                json={"streams": streams[first : first + 50]},
                headers={"X-Scope-OrgID": tenant},
                timeout=30,
            )
            answer.raise_for_status()


class RealVictoriaTraces(LoopbackServer):
    """VictoriaTraces: OTLP in, Jaeger's query API out under `/select/jaeger`."""

    ready_path = "/health"

    def command(self) -> list[str]:
        """The README's command line on a free port."""
        return [
            str(self.binary),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.root / 'data'}",
            "-retentionPeriod=30d",
            "-loggerLevel=WARN",
        ]

    @property
    def jaeger_url(self) -> str:
        """What `JAEGER_BASE_URL` is set to."""
        return f"{self.url}/select/jaeger"

    def push(self, request: bytes) -> None:
        """Send one serialised `ExportTraceServiceRequest` over OTLP/HTTP protobuf."""
        answer = httpx.post(
            f"{self.url}/insert/opentelemetry/v1/traces",
            content=request,
            headers={"Content-Type": "application/x-protobuf"},
            timeout=30,
        )
        answer.raise_for_status()
