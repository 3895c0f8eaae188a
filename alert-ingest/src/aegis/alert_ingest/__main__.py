"""`aegis-alert-ingest`: read the settings, configure logging, serve the app with uvicorn.

`serve` is also what the benchmark runs its no-op baseline with, so both sides of the comparison
use exactly the same server stack.
"""

import gc
import sys

import uvicorn
from starlette.types import ASGIApp

from aegis.alert_ingest.app import create_app
from aegis.alert_ingest.header_deadline import header_deadline_protocol
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.startup import start_service

# Long enough for in-flight webhooks to get their JetStream ack, short enough for a pod's
# termination grace period (30 s by default).
GRACEFUL_SHUTDOWN_S = 10


def serve(app: ASGIApp, host: str, port: int, header_timeout_s: float = 10.0) -> None:
    """Run `app` until SIGINT/SIGTERM; then stop accepting, finish in-flight requests, run shutdown."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=header_deadline_protocol(header_timeout_s),
        lifespan="on",
        access_log=False,  # the route logs refusals itself, and acceptances at DEBUG
        proxy_headers=False,  # no proxy in front: the peer address is the sender
        server_header=False,
        log_config=None,  # structlog and the root logger are configured by configure_logging
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    config.load()  # imports the loop and protocol modules now, so the freeze below covers them
    # Everything alive now lives as long as the process. Freezing it keeps the cyclic GC from
    # rescanning it in every full collection: those scans were 20-45 ms pauses every few hundred
    # ms under load, the whole of the webhook's p99 (bench/ingest.py).
    gc.collect()
    gc.freeze()
    server.run()
    if not server.started:
        sys.exit(3)  # could not bind or start up; uvicorn has logged why


def main() -> None:
    settings = start_service(IngestSettings, "aegis-alert-ingest")
    serve(create_app(settings), settings.http_host, settings.http_port, settings.http_header_timeout_s)


if __name__ == "__main__":
    main()
