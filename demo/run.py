"""`make demo`: the alert path on embedded defaults, no Feishu credentials, no Docker.

Starts nats-server from the wheel, alert-ingest and the notifier (console sink) as separate
processes, posts a sample Alertmanager webhook, prints the card that would reach Feishu, and
exits 0 once it has been shown (1 with the services' logs when it is not, within 30 s).
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CARD_END = "└"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="aegis-demo-"))
    nats_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(http_port),
        "NOTIFIER_SINK": "console",
        "NOTIFIER_METRICS_PORT": "0",
        "LOG_FORMAT": "console",
        "PYTHONUNBUFFERED": "1",
    }
    logs = {name: (workdir / f"{name}.log").open("w") for name in ("nats", "alert-ingest", "notifier")}
    card_file = workdir / "cards.txt"
    processes = [
        subprocess.Popen(
            [
                str(BIN / "nats-server"),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(nats_port),
                "-sd",
                str(workdir / "nats"),
            ],
            stdout=logs["nats"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(BIN / "aegis-alert-ingest")], env=env, stdout=logs["alert-ingest"], stderr=subprocess.STDOUT
        ),
        subprocess.Popen(
            [str(BIN / "aegis-notifier")], env=env, stdout=card_file.open("w"), stderr=logs["notifier"]
        ),
    ]
    started = time.monotonic()
    try:
        print(f"▶ nats-server, alert-ingest (:{http_port}) and notifier (console sink) starting in {workdir}")
        wait_http(f"http://127.0.0.1:{http_port}/readyz", started + 30)
        body = (HERE / "alert.json").read_bytes()
        posted = time.monotonic()
        answer = httpx.post(
            f"http://127.0.0.1:{http_port}/alertmanager/webhook",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        print(f"▶ Alertmanager webhook posted: HTTP {answer.status_code} {answer.text}")
        answer.raise_for_status()
        while time.monotonic() < posted + 30:
            shown = card_file.read_text()
            if CARD_END in shown:
                elapsed = time.monotonic() - posted
                print(f"▶ the card the on-call chat receives ({elapsed:.2f}s after the webhook):")
                print(shown)
                return 0
            time.sleep(0.05)
        print("✗ no card within 30 s; service logs follow", file=sys.stderr)
        for name in logs:
            print(f"--- {name}\n{(workdir / f'{name}.log').read_text()[-3000:]}", file=sys.stderr)
        return 1
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
