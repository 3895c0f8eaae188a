"""Hostile messages for every subject an Aegis service consumes: hypothesis-generated and hand-picked.

`hostile_corpus(n)` draws `n` payloads (deterministically: derandomised hypothesis) across the
consumed subjects: random bytes, random JSON, and valid events with one field made hostile (wrong
type, zone-less or overflowing times, ids with spaces, huge or control-character strings, deep
nesting). Valid-looking mutations keep what makes them cheap to handle: alerts share one group
(they supersede each other), questions have no text (answered with usage help, no analysis).
Used by the fuzz test and the chaos run.
"""

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegis.devkit.harness.alerts import T0, webhook_payload
from aegis.shared.alerts import AlertmanagerWebhook, normalise
from aegis.shared.questions import QuestionEvent, ReplyTo
from aegis.shared.rca import RcaResult
from aegis.shared.subjects import alert_subject, question_subject, result_subject

CHAT = "oc_oncall"

CONSUMED = (
    alert_subject("firing"),
    alert_subject("resolved"),
    question_subject("feishu"),
    question_subject("api"),
    question_subject("cli"),
    result_subject("feishu"),
)


@dataclass(frozen=True)
class Hostile:
    """One message to throw at a consumer."""

    subject: str
    data: bytes
    headers: dict[str, str] | None = None


HAND_PICKED: tuple[bytes, ...] = (
    b"",
    b"null",
    b"[]",
    b"{}",
    b"\xff\xfe\x00garbage",
    b"{" * 10_000,
    b'{"schema_version": 2}',
    json.dumps({"request_id": "x y", "source": "feishu", "text": ""}).encode(),
    json.dumps({"request_id": "a" * 5000, "source": "api", "text": ""}).encode(),
    b'{"request_id": "q1", "source": "api", "text": "", "window": {"start": 0, "end": 1e300}}',
    b'{"request_id": "q1", "source": "api", "text": "", "created_at": "0001-01-01T00:00:00+08:00"}',
    b'{"request_id": "q1", "source": "cli", "text": "", "services": ["payment\\"} or {x=~\\".+"]}',
    b'{"request_id": "q1", "source": "feishu", "text": NaN}',
)


def _alert(name: str = "FuzzGroup") -> dict[str, Any]:
    event = normalise(AlertmanagerWebhook.model_validate(webhook_payload(name=name)), T0)
    document: dict[str, Any] = json.loads(event.model_dump_json())
    document["group_key"] = '{}:{alertname="FuzzGroup"}'
    return document


def _question(source: str) -> dict[str, Any]:
    reply = ReplyTo(chat_id=CHAT, message_id="om_fuzz") if source == "feishu" else None
    question = QuestionEvent(request_id="fuzz-q", source=source, text="", reply_to=reply)  # type: ignore[arg-type]
    document: dict[str, Any] = json.loads(question.model_dump_json())
    return document


def _result() -> dict[str, Any]:
    result = RcaResult(
        request_id="fuzz-r",
        source="feishu",
        reply_to=ReplyTo(chat_id=CHAT, message_id="om_fuzz"),
        summary="s",
    )
    document: dict[str, Any] = json.loads(result.model_dump_json())
    return document


_BASES = {
    alert_subject("firing"): _alert,
    alert_subject("resolved"): _alert,
    question_subject("feishu"): lambda: _question("feishu"),
    question_subject("api"): lambda: _question("api"),
    question_subject("cli"): lambda: _question("cli"),
    result_subject("feishu"): _result,
}

_HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=3000, max_size=6000),
    st.sampled_from(
        [
            "2026-11-24T09:40:00",
            "2026-11-24T17:50:00+08:00",
            "0001-01-01T00:00:00+08:00",
            "9999-12-31T23:59:59-05:00",
            "not a time",
            "q with spaces",
            "\u0000\n\r",
            'payment"} or {x=~".+',
        ]
    ),
    st.lists(st.integers(), max_size=5),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=5),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _set_path(document: dict[str, Any], path: list[str], value: Any) -> None:
    target: Any = document
    for key in path[:-1]:
        target = target[key][0] if isinstance(target[key], list) else target[key]
    target[path[-1]] = value


def _paths(document: dict[str, Any], prefix: list[str] | None = None) -> list[list[str]]:
    found: list[list[str]] = []
    for key, value in document.items():
        path = [*(prefix or []), key]
        found.append(path)
        if isinstance(value, dict):
            found += _paths(value, path)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            found += _paths(value[0], path)
    return found


@st.composite
def hostile_message(draw: st.DrawFn) -> Hostile:
    """One hostile message on one consumed subject."""
    subject = draw(st.sampled_from(CONSUMED))
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "json", "bytes", "picked"]))
    if kind == "bytes":
        data = draw(st.binary(max_size=2000))
    elif kind == "json":
        data = json.dumps(draw(_JSON)).encode()
    elif kind == "picked":
        data = draw(st.sampled_from(HAND_PICKED))
    else:
        document = _BASES[subject]()
        path = draw(st.sampled_from(_paths(document)))
        if path[-1] == "text":  # keep questions cheap: an empty text is answered without analysis
            path[-1] = "conversation_key"
        _set_path(document, path, draw(_HOSTILE_VALUES))
        data = json.dumps(document, allow_nan=False).encode()
    headers = draw(st.sampled_from([None, {"X-Junk": "a b"}, {"traceparent": "00-zz"}]))
    return Hostile(subject, data, headers)


def hostile_corpus(count: int) -> list[Hostile]:
    """`count` hostile messages, the same ones on every run."""
    drawn: list[Hostile] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_message())
    def collect(message: Hostile) -> None:
        drawn.append(message)

    collect()
    while len(drawn) < count:  # hypothesis may stop early once it has explored enough
        drawn += drawn[: count - len(drawn)]
    return drawn[:count]
