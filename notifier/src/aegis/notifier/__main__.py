"""`aegis-notifier`: read the settings, then run the notifier on the shared service skeleton."""

from aegis.notifier.app import create_app
from aegis.notifier.service import Notifier
from aegis.notifier.settings import NotifierSettings
from aegis.shared.serving import serve
from aegis.shared.startup import start_service


def main() -> None:
    settings = start_service(NotifierSettings, "aegis-notifier")
    notifier = Notifier(settings)
    serve(
        create_app(notifier),
        settings.http_host,
        settings.http_port or None,
        run=notifier.run_until,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
