"""Worker processes for the reliability tests: `python -m aegis.rca_worker`, as deployed.

Each gets its own HTTP port; readiness is its `/readyz`, and how many questions it answered is read
from its `/metrics` — what an operator would look at.
"""

import os
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aegis.devkit.harness.services import ServiceProcess


class WorkerProcess(ServiceProcess):
    """One `aegis-rca-worker` process; how many questions it answered is read from its `/metrics`."""

    async def answered(self) -> float:
        """`aegis_rca_analyses_total` over the answered and degraded outcomes, from `/metrics`."""
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2.0)).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            if family.name == "aegis_rca_analyses":
                total += sum(
                    s.value
                    for s in family.samples
                    if s.name.endswith("_total") and s.labels.get("outcome") in ("answered", "degraded")
                )
        return total


def worker_process(env: dict[str, str], log: Path) -> WorkerProcess:
    """A worker with `env` on top of this process's environment, on a free `port`, logging JSON to `log`."""
    return WorkerProcess.http_service(
        "rca-worker", "aegis-rca-worker", {**os.environ, **env, "LOG_FORMAT": "json"}, log
    )


def worker_env(nats_url: str, urls: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a test worker: NATS, the loopback backends, short timings, English."""
    env = {
        "NATS_URL": nats_url,
        **{name.upper(): url for name, url in urls.items()},
        "BASELINE_LOOKBACK_S": "0",
        "RCA_ACK_WAIT_S": "5",
        "RCA_BACKOFF_S": "0.1",
        "RCA_SHUTDOWN_GRACE_S": "2",
        "LOCALE": "en",
        "DEFAULT_MODEL": "none",
    }
    return {**env, **extra}
