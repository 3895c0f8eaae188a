"""What every service's `main()` does before it serves: settings, logging, tracing.

One place, so that a service cannot start with logging set up but tracing forgotten, and every
bad variable ends the process the same way: exit 2 with a line naming it.
"""

import sys
from typing import TypeVar

from aegis.shared.logging import configure_logging
from aegis.shared.settings import AegisSettings, ConfigError, load_settings
from aegis.shared.tracing import configure_tracing

S = TypeVar("S", bound=AegisSettings)


def start_service(cls: type[S], service: str) -> S:
    """`cls` read from the environment (exit 2 naming each bad variable), with logging and
    tracing configured for `service` (the console script's name, also the traces' service.name)."""
    try:
        settings = load_settings(cls)
    except ConfigError as error:
        print(f"{service}: {error}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(service, settings.otel_exporter_otlp_endpoint)
    return settings
