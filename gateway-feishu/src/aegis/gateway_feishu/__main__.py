"""`aegis-gateway-feishu`: read the settings, then serve the app on the shared service skeleton.

SIGTERM/SIGINT become the app's shutdown: the long connection is closed (Feishu then routes events
to the app's other connections), in-flight publishes finish, NATS is flushed.
"""

from aegis.gateway_feishu.app import create_app
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.shared.serving import serve
from aegis.shared.startup import start_service


def main() -> None:
    settings = start_service(GatewaySettings, "aegis-gateway-feishu")
    serve(create_app(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
