"""`aegis-rca-worker`: run the worker (consumer + /healthz, /readyz, /metrics) until SIGTERM or SIGINT."""

import asyncio
import sys

from aegis.rca_worker.service.app import make_app
from aegis.rca_worker.service.serving import serve
from aegis.rca_worker.worker_settings import WorkerSettings
from aegis.shared.logging import configure_logging
from aegis.shared.settings import ConfigError, load_settings
from aegis.shared.tracing import configure_tracing


def main() -> None:
    """Read the settings (exit 2 naming a bad variable), then serve."""
    try:
        settings = load_settings(WorkerSettings)
    except ConfigError as error:
        print(f"aegis-rca-worker: {error}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing("aegis-rca-worker", settings.otel_exporter_otlp_endpoint)
    asyncio.run(serve(make_app(settings), settings))


if __name__ == "__main__":
    main()
