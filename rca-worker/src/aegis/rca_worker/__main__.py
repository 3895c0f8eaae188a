"""`aegis-rca-worker`: run the worker (consumer + /healthz, /readyz, /metrics) until SIGTERM or SIGINT."""

import asyncio

from aegis.rca_worker.service.app import make_app
from aegis.rca_worker.service.serving import serve
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.startup import start_service


def main() -> None:
    """Read the settings (exit 2 naming a bad variable), then serve."""
    settings = start_service(WorkerSettings, "aegis-rca-worker")
    asyncio.run(serve(make_app(settings), settings))


if __name__ == "__main__":
    main()
