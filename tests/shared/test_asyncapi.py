"""The committed AsyncAPI description is the one the code generates, and covers every subject."""

from pathlib import Path

from aegis.shared import subjects
from aegis.shared.asyncapi import document, render
from aegis.shared.publishing import PUBLISHES

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
        subjects.cancel_subject("{request_id}"),
        subjects.result_subject("{source}"),  # type: ignore[arg-type]
        subjects.dead_letter_subject("{subject}"),
    }
    assert expected == addresses


def test_every_declared_publish_is_in_the_document_with_its_dedup_id() -> None:
    """Each entry of the publish table appears on its channels, naming its Nats-Msg-Id and timeout."""
    operations = document()["operations"]
    summaries = " ".join(op["summary"] for name, op in operations.items() if name.startswith("publish_"))
    for spec in PUBLISHES:
        assert f"{spec.service} (Nats-Msg-Id: {spec.dedup_id}" in summaries
        assert spec.timeout_setting in summaries
