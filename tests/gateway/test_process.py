"""`aegis-gateway-feishu` as a process: refusing bad settings, serving, stopping on SIGTERM, staying lean."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client

from aegis.devkit.fakes.feishu_events import message_event
from aegis.devkit.fakes.feishu_ws import FakeLongConnection
from aegis.devkit.harness.services import BIN, ServiceProcess
from tests.gateway.conftest import wait_for_questions

SCRIPT = "aegis-gateway-feishu"
COMMAND = str(BIN / SCRIPT)
RSS_TARGET_MB = 120


def clean_env(**values: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("FEISHU_", "AEGIS_", "NATS_", "HTTP_"))}
    return {**kept, "LOG_FORMAT": "json", **values}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FEISHU_APP_SECRET": "s"}, "FEISHU_APP_ID"),
        (
            {"FEISHU_APP_ID": "cli_x", "FEISHU_APP_SECRET": "s", "FEISHU_BASE_URL": "http://example.com"},
            "FEISHU_BASE_URL",
        ),
        ({"FEISHU_EVENT_MODE": "http", "FEISHU_BOT_OPEN_ID": "ou_x"}, "FEISHU_VERIFICATION_TOKEN"),
        ({"FEISHU_EVENT_MODE": "webhook"}, "FEISHU_EVENT_MODE"),
    ],
)
def test_bad_settings_exit_2_naming_the_variable(env: dict[str, str], named: str) -> None:
    """A missing or malformed variable stops start-up with exit code 2 and a message naming it."""
    done = subprocess.run([COMMAND], env=clean_env(**env), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def test_serves_within_memory_and_stops_on_sigterm(
    nats_url: str, nats_client: Client, feishu_ws: FakeLongConnection, tmp_path: Path
) -> None:
    """The process takes events over the long connection under 120 MB RSS; SIGTERM closes the
    connection and completes the shutdown, then the process ends by SIGTERM as uvicorn does."""
    env = clean_env(
        NATS_URL=nats_url,
        FEISHU_APP_ID=feishu_ws.app_id,
        FEISHU_APP_SECRET=feishu_ws.app_secret,
        FEISHU_BASE_URL=feishu_ws.base_url,  # bot-info is forwarded to the fake open platform
        HTTP_HOST="127.0.0.1",
        LOG_LEVEL="INFO",
    )
    gateway = ServiceProcess.http_service("gateway-feishu", SCRIPT, env, tmp_path / "gateway.log")
    with gateway:
        await gateway.ready(timeout=30)
        assert (await feishu_ws.send_event(message_event())).code == 200
        await wait_for_questions(nats_client, 1)
        assert rss_mb(gateway.pid) <= RSS_TARGET_MB
        assert await asyncio.to_thread(gateway.stop, 15) in (0, -signal.SIGTERM)
        assert not feishu_ws.connected
    errors = gateway.output()
    assert "Traceback" not in errors, errors
    assert '"gateway stopped"' in errors


def test_lean_sdk_loads_only_the_event_types_used() -> None:
    """Importing the long connection loads no unused lark-oapi API family, yet the real dispatcher works."""
    probe = (
        "import sys\n"
        "import aegis.gateway_feishu.long_connection as lc\n"
        "loaded = [n for n, m in list(sys.modules.items()) if getattr(m, '__file__', None)]\n"
        "api = [n.split('.') for n in loaded if n.startswith('lark_oapi.api.')]\n"
        "families = sorted({parts[2] for parts in api if len(parts) > 2})\n"
        "h = lc.EventDispatcherHandler.builder('', '').register_p2_im_message_receive_v1(print).build()\n"
        "print(','.join(families), type(h).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    families, handler = done.stdout.split()
    assert families == "im"
    assert handler == "EventDispatcherHandler"
