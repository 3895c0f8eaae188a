"""`aegis-rca-worker`: read the settings, then run the worker on the shared service skeleton."""

from aegis.rca_worker.service.app import make_app
from aegis.rca_worker.service.serving import consuming
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.serving import serve
from aegis.shared.startup import start_service


def main() -> None:
    """Read the settings (exit 2 naming a bad variable), then serve."""
    settings = start_service(WorkerSettings, "aegis-rca-worker")
    app = make_app(settings)
    serve(app, settings.http_host, settings.http_port, run=consuming(app), lifespan="off")


if __name__ == "__main__":
    main()
