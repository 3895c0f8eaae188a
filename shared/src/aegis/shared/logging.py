"""structlog set-up shared by every process: JSON off a terminal, readable on one, secrets masked."""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from aegis.shared.settings import LogFormat

_SECRET_MARKERS = ("secret", "password", "token", "api_key", "authorization")


def mask_secrets(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the value of any field whose name suggests a credential."""
    for key in event:
        if any(marker in key.lower() for marker in _SECRET_MARKERS):
            event[key] = "***"
    return event


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: LogFormat = "auto") -> None:
    """Configure structlog (and the stdlib root logger) once per process."""
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
