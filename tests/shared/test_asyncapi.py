"""The committed AsyncAPI description is the one the code generates, and covers every subject."""

from pathlib import Path

from aegis.shared import subjects
from aegis.shared.asyncapi import document, render

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_committed_asyncapi_is_current() -> None:
    """docs/asyncapi.json equals `python -m aegis.shared.asyncapi` (regenerate it when this fails)."""
    regenerate = "run: .venv/bin/python -m aegis.shared.asyncapi > docs/asyncapi.json"
    assert COMMITTED.read_text() == render(), regenerate


def test_every_subject_is_described() -> None:
    """Each subject the services use has a channel with a payload schema."""
    addresses = {channel["address"] for channel in document()["channels"].values()}
    expected = {
        subjects.alert_subject("firing"),
        subjects.alert_subject("resolved"),
        *(subjects.question_subject(source) for source in ("feishu", "api", "cli")),
        subjects.progress_subject("{request_id}"),
        subjects.result_subject("{source}"),  # type: ignore[arg-type]
        subjects.dead_letter_subject("{subject}"),
    }
    assert expected == addresses
