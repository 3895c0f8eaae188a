"""`aegis-gateway-feishu`: read the settings, configure logging, serve the app until SIGTERM.

uvicorn turns SIGTERM/SIGINT into the app's shutdown: the long connection is closed (Feishu
then routes events to the app's other connections), in-flight publishes finish, NATS is flushed.
"""

import gc
import sys

import uvicorn

from aegis.gateway_feishu.app import create_app
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.shared.startup import start_service

# Long enough for in-flight callbacks to get their JetStream ack, short enough for a pod's
# termination grace period (30 s by default).
GRACEFUL_SHUTDOWN_S = 10


def main() -> None:
    settings = start_service(GatewaySettings, "aegis-gateway-feishu")
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
