"""`aegis-notifier`: run the notifier until SIGTERM or SIGINT."""

import asyncio
import signal
import sys

from prometheus_client import start_http_server

from aegis.notifier.service import Notifier
from aegis.notifier.settings import NotifierSettings
from aegis.shared.logging import configure_logging
from aegis.shared.settings import ConfigError, load_settings
from aegis.shared.tracing import configure_tracing


async def _serve(settings: NotifierSettings) -> None:
    notifier = Notifier(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, notifier.stop)
    await notifier.run()


def main() -> None:
    try:
        settings = load_settings(NotifierSettings)
    except ConfigError as error:
        print(f"aegis-notifier: {error}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing("aegis-notifier", settings.otel_exporter_otlp_endpoint)
    if settings.notifier_metrics_port:
        start_http_server(settings.notifier_metrics_port)
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
