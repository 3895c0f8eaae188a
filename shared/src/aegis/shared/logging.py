"""structlog set-up shared by every process: JSON off a terminal, readable on one, secrets masked;
the standard-library loggers of the libraries formatted the same way."""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import Processor

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
    """Configure structlog, and the stdlib root logger to format through it, once per process.

    Libraries' standard-library loggers (uvicorn, nats, lark-oapi, FastStream, asyncio) write the
    same lines as ours — JSON off a terminal, with level, timestamp and masked secrets, plus the
    logger's name — through structlog's `ProcessorFormatter`; they pass from WARNING up.
    """
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    stamped: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*stamped, mask_secrets, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = _StructlogHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*stamped, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                mask_secrets,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if isinstance(h, _StructlogHandler)]:
        root.removeHandler(earlier)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


class _StructlogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root logger's handler that `configure_logging` installed (and replaces when called again)."""
