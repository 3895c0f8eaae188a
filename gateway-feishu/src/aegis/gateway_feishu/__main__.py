"""`aegis-gateway-feishu`: read the settings, configure logging, serve the app until SIGTERM.

uvicorn turns SIGTERM/SIGINT into the app's shutdown: the long connection is closed (Feishu
then routes events to the app's other connections), in-flight publishes finish, NATS is flushed.
"""

import gc
import sys

import uvicorn

from aegis.gateway_feishu.app import create_app
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.shared.logging import configure_logging
from aegis.shared.settings import ConfigError, load_settings
from aegis.shared.tracing import configure_tracing

# Long enough for in-flight callbacks to get their JetStream ack, short enough for a pod's
# termination grace period (30 s by default).
GRACEFUL_SHUTDOWN_S = 10


def main() -> None:
    try:
        settings = load_settings(GatewaySettings)
    except ConfigError as error:
        print(f"aegis-gateway-feishu: {error}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing("aegis-gateway-feishu", settings.otel_exporter_otlp_endpoint)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=None,  # structlog and the root logger are configured by configure_logging
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    config.load()
    # Everything alive now lives as long as the process; freezing it keeps the cyclic GC from
    # rescanning it in every full collection (pauses that would show in the ACK latency).
    gc.collect()
    gc.freeze()
    server.run()
    if not server.started:
        sys.exit(3)  # could not bind or start up; uvicorn has logged why


if __name__ == "__main__":
    main()
