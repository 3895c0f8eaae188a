"""Every line a process writes is structlog's: the libraries' standard-library loggers too."""

import json
import logging

import pytest
import structlog

from aegis.shared.logging import configure_logging


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_library_loggers_write_json_like_ours(capsys: pytest.CaptureFixture[str]) -> None:
    """A nats-py (or uvicorn, lark) warning is one JSON line with level, timestamp and the logger's name."""
    configure_logging("INFO", "json")
    logging.getLogger("nats.aio.client").warning("Invalid HTTP request received: %s", "bad header")
    logging.getLogger("asyncio").info("below WARNING: not written")
    structlog.get_logger("aegis.test").warning("ours", api_key="s3cret")

    library, ours = lines(capsys.readouterr().err)

    assert library["event"] == "Invalid HTTP request received: bad header"
    assert library["level"] == "warning"
    assert library["logger"] == "nats.aio.client"
    assert str(library["timestamp"]).endswith("Z")
    assert ours == {"event": "ours", "api_key": "***", "level": "warning", "timestamp": ours["timestamp"]}


def test_a_library_exception_is_one_json_line_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """An exception logged by a library (asyncio's "Task exception was never retrieved") stays one line."""
    configure_logging("INFO", "json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")

    (line,) = lines(capsys.readouterr().err)

    assert line["logger"] == "asyncio"
    assert line["level"] == "error"
    assert "RuntimeError: boom" in str(line["exception"])


def test_configuring_again_keeps_one_handler() -> None:
    """A second configure_logging (the CLI after a service, in one test process) replaces its handler."""
    configure_logging("INFO", "json")
    configure_logging("INFO", "json")
    ours = [h for h in logging.getLogger().handlers if type(h).__name__ == "_StructlogHandler"]
    assert len(ours) == 1
