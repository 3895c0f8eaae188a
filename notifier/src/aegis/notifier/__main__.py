"""`aegis-notifier`: run the notifier until SIGTERM or SIGINT, with its health and metrics routes."""

import asyncio
import contextlib
import signal

from aegis.notifier.health import serve_health
from aegis.notifier.service import Notifier
from aegis.notifier.settings import NotifierSettings
from aegis.shared.startup import start_service


async def _serve(settings: NotifierSettings) -> None:
    notifier = Notifier(settings)
    stopped = asyncio.Event()

    def stop() -> None:
        notifier.stop()
        stopped.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    health = (
        asyncio.create_task(serve_health(notifier.health, settings.notifier_metrics_port, stopped))
        if settings.notifier_metrics_port
        else None
    )
    try:
        await notifier.run()
    finally:
        stopped.set()
        if health is not None:
            with contextlib.suppress(Exception):
                await health


def main() -> None:
    settings = start_service(NotifierSettings, "aegis-notifier")
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
