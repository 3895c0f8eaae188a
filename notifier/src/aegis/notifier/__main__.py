"""`aegis-notifier`: run the notifier until SIGTERM or SIGINT."""

import asyncio
import signal

from prometheus_client import start_http_server

from aegis.notifier.service import Notifier
from aegis.notifier.settings import NotifierSettings
from aegis.shared.startup import start_service


async def _serve(settings: NotifierSettings) -> None:
    notifier = Notifier(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, notifier.stop)
    await notifier.run()


def main() -> None:
    settings = start_service(NotifierSettings, "aegis-notifier")
    if settings.notifier_metrics_port:
        start_http_server(settings.notifier_metrics_port)
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
