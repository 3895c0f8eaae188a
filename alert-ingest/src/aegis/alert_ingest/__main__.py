"""`aegis-alert-ingest`: read the settings, then serve the app on the shared service skeleton."""

from aegis.alert_ingest.app import create_app
from aegis.alert_ingest.header_deadline import header_deadline_protocol
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.serving import serve
from aegis.shared.startup import start_service


def main() -> None:
    settings = start_service(IngestSettings, "aegis-alert-ingest")
    serve(
        create_app(settings),
        settings.http_host,
        settings.http_port,
        http=header_deadline_protocol(settings.http_header_timeout_s),
    )


if __name__ == "__main__":
    main()
