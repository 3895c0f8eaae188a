"""`aegis eval --model`: the same cases answered with and without the configured model (the real
langchain client against the scripted fake), AC@k of both, and how often the guard used, repaired
or rejected the model's report."""

import json

import pytest

from aegis.devkit.fakes.llm import Failure, ScriptedLlm, report
from aegis.simulator.eval import main
from tests.worker.analysing import submitted

ARGS = ["--faults", "exception", "--seeds", "1", "--limit", "4", "--json"]  # frontend, cart, checkout, …


def _configure(monkeypatch: pytest.MonkeyPatch, llm: ScriptedLlm) -> None:
    for name, value in {
        "DOUBAO_BASE_URL": llm.openai_url,
        "DOUBAO_API_KEY": "test-key",
        "DOUBAO_MODEL": "doubao-seed-1-6",
        "LLM_TIMEOUT_S": "5",
        "LOCALE": "en",
    }.items():
        monkeypatch.setenv(name, value)


def test_eval_model_reports_accuracy_with_and_without_and_the_fate_of_each_report(
    llm: ScriptedLlm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One report used, one repaired (an invented id), one rejected (ad first, no counter-evidence),
    one failed call: the floor keeps every answer's root cause where the ranking had it."""
    _configure(monkeypatch, llm)
    llm.script(
        submitted(report("frontend throws.", [("frontend", "exceptions in frontend", 0.9, ["E1"])])),
        submitted(report("cart throws.", [("cart", "exceptions in cart", 0.9, ["E1", "E99"])])),
        submitted(report("ad is the cause.", [("ad", "ad errors", 0.8, ["E1"])])),
        Failure(500, "internal"),
    )
    assert main(["--model", "doubao", *ARGS]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model"] == "doubao"
    assert summary["model_name"] == "doubao-seed-1-6"
    assert summary["cases"] == 4
    assert summary["with_model"] == summary["without_model"]
    assert summary["without_model"]["ac@1"] > 0
    assert summary["report_used"] == 0.25
    assert summary["report_repaired"] == 0.25
    assert summary["report_rejected"] == 0.5
    assert summary["rejected_by_cause"] == {"refused": 1, "timeout": 0, "error": 1, "unavailable": 0}
    assert len(llm.seen) == 4


def test_eval_model_refuses_a_model_that_is_not_configured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without DOUBAO_* there is nothing to compare: exit 2, naming the variables."""
    for name in ("DOUBAO_BASE_URL", "DOUBAO_API_KEY", "DOUBAO_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--model", "doubao", *ARGS]) == 2
    assert "DOUBAO_BASE_URL" in capsys.readouterr().err
