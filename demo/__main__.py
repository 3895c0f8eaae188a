"""`make demo` (`python -m demo`): the whole story on embedded defaults, offline, no Feishu, no Docker.

It starts nats-server from the wheel, the simulator's Prometheus, Loki and Jaeger serving one
incident (an exception storm in `payment`, seen first as 5xx in `checkout`), a fake Feishu with its
long-connection server, and the four services as separate processes configured as in production.
Then it plays the incident: Alertmanager's webhook arrives and the alert card reaches the chat; an
on-call engineer @mentions Aegis; the acknowledgement, the analysis' progress and the answer appear
as they happen. It exits 0 when the answer names the injected root cause (printing it), 1 with the
services' logs otherwise. The chat is also written as a web page. With OLLAMA_BASE_URL, or
DOUBAO_BASE_URL, DOUBAO_API_KEY and DOUBAO_MODEL, set, the worker reasons with that model, and the
demo says whether the model helped (its one line on the card) or not (and why: the answer was then
the deterministic one).
"""

import asyncio
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx

from aegis.devkit.fakes.feishu import FakeMessage
from aegis.devkit.fakes.feishu_events import message_event
from aegis.devkit.harness.alerts import webhook_payload
from aegis.devkit.harness.services import LoopbackStack, exit_on_sigterm
from demo.chat import ChatView, chat_page

CHAT = "oc_oncall_demo"
FAULT, ROOT, SYMPTOM = "exception", "payment", "checkout"
QUESTION = f"@_user_1 {SYMPTOM} 5xx 变多了，过去30分钟怎么回事？"
TOP_CANDIDATE = re.compile(r"\*\*#1 ([\w.-]+)\*\*")
DEGRADED = re.compile(r"(?:降级回答|Degraded answer): ((?:[^\\\"]|\\.)*)")
CONTRIBUTION = re.compile(r"🤖 ((?:[^\\\"]|\\.)*)")
STEP_TIMEOUT_S = 90.0


def model_from_env(env: Mapping[str, str]) -> str:
    """The model the demo asks for: DEFAULT_MODEL if set, else whichever provider is configured."""
    if env.get("DEFAULT_MODEL"):
        return env["DEFAULT_MODEL"]
    if env.get("OLLAMA_BASE_URL"):
        return "qwen"
    if all(env.get(f"DOUBAO_{part}") for part in ("BASE_URL", "API_KEY", "MODEL")):
        return "doubao"
    return "none"


def top_candidate(message: FakeMessage) -> str | None:
    """The service ranked first in an answer card, as the reader sees it."""
    found = TOP_CANDIDATE.search(message.current)
    return found.group(1) if found else None


def model_verdict(message: FakeMessage, model: str) -> str | None:
    """What the model did for the answer, as the card says it; None when no model was asked."""
    if model == "none":
        return None
    degraded = DEGRADED.search(message.current)
    if degraded:
        why = degraded.group(1)
        return f"⚠ the model ({model}) did not help — the answer is the deterministic ranking: {why}"
    added = CONTRIBUTION.search(message.current)
    return f"✔ the model ({model}) helped: {added.group(1) if added else 'no line on the card'}"


def say(text: str) -> None:
    print(text, flush=True)


async def until(check: Callable[[], bool], view: ChatView, what: str) -> None:
    """Print the chat's news until `check()` holds; TimeoutError naming `what` after STEP_TIMEOUT_S."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        for block in view.news():
            say(block)
        if check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {STEP_TIMEOUT_S:.0f}s")
        await asyncio.sleep(0.1)


async def play(stack: LoopbackStack, fired_at: datetime, started: float) -> FakeMessage:
    """The incident, from webhook to answer; returns the answer card."""
    feishu, feishu_ws = stack.feishu, stack.feishu_ws
    view = ChatView(feishu, CHAT)
    webhook = webhook_payload(
        name="CheckoutHighErrorRate",
        service=SYMPTOM,
        summary=f"{SYMPTOM} 5xx ratio above 5% for 5 minutes",
        starts_at=fired_at,
    )
    ingest = stack.services["alert-ingest"].port
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://127.0.0.1:{ingest}/alertmanager/webhook", json=webhook, timeout=10)
    say(f"\n▶ Alertmanager posts its webhook → alert-ingest: HTTP {answer.status_code} {answer.text}")
    answer.raise_for_status()
    await until(lambda: bool(feishu.sent(CHAT)), view, "alert card")

    say("\n▶ the on-call engineer asks Aegis in the chat (over Feishu's long connection):")
    asked = feishu.user_message(CHAT, QUESTION)
    ack = await feishu_ws.send_event(message_event(QUESTION, chat_id=CHAT, message_id=asked.message_id))
    say(
        f"  (gateway-feishu acknowledged the event to Feishu: code {ack.code}, {ack.latency_s * 1000:.0f} ms)"
    )

    def answered() -> bool:
        replies = feishu.replies_to(asked.message_id)
        return bool(replies) and "正在分析" not in replies[0].current

    await until(answered, view, "answer")
    [reply] = feishu.replies_to(asked.message_id)
    say(f"\n▶ from `make demo` to the answer card: {time.monotonic() - started:.1f}s")
    return reply


def main() -> int:
    exit_on_sigterm()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="aegis-demo-"))
    model = model_from_env(os.environ)
    env = {"DEFAULT_MODEL": model, "LOG_LEVEL": "INFO"}
    stack = LoopbackStack(workdir, CHAT, "cli_demo", "demo-secret", env, FAULT, ROOT)
    say(f"▶ Aegis demo in {workdir} (logs there); model: {model}")
    say(
        f"▶ starting nats-server {stack.nats.url}, the simulator (fault `{FAULT}` injected into `{ROOT}`), "
        f"fake Feishu {stack.feishu.base_url}, and the four services as processes"
    )
    try:
        stack.start()
        say(f"▶ all services ready after {time.monotonic() - started:.1f}s")
        fired_at = datetime.fromtimestamp(float(stack.backends.urls["inject_time"]) + 120, UTC)
        reply = asyncio.run(play(stack, fired_at, started))
    except (RuntimeError, TimeoutError, httpx.HTTPError) as error:
        say(f"✗ {error}")
        for service in stack.services.values():
            print(f"--- {service.name} ({service.log_path})\n{service.log_tail()}", file=sys.stderr)
        return 1
    finally:
        page = chat_page(stack.feishu, CHAT, workdir / "chat.html")
        stack.stop()
    say(f"▶ the chat as a web page: file://{page}")
    if verdict := model_verdict(reply, model):
        say(verdict)
    named = top_candidate(reply) or "(no candidate in the answer)"
    if named != ROOT:
        say(f"✗ the answer names {named}, but the simulator injected the fault into {ROOT}")
        return 1
    say(f"✔ root cause: {named} (the simulator injected `{FAULT}` into {ROOT}; the alert fired on {SYMPTOM})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
