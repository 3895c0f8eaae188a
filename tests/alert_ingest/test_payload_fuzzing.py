"""Property-based: no body makes the webhook answer 5xx; valid webhooks normalise deterministically."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aegis.shared.alerts import AlertGroupEvent, AlertmanagerWebhook, normalise
from tests.alert_ingest.conftest import post_webhook

# Examples are kept modest: each HTTP example is a real JetStream round trip, and CI runs this file.
HTTP_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE_SETTINGS = settings(max_examples=150, deadline=None)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
label_sets = st.dictionaries(label_names, st.text(max_size=30), max_size=5)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
rfc3339 = instants.map(lambda t: t.isoformat().replace("+00:00", "Z"))
statuses = st.sampled_from(["firing", "resolved"])

alerts: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "status": statuses,
        "labels": st.builds(lambda name, rest: {"alertname": name, **rest}, label_names, label_sets),
        "annotations": label_sets,
        "startsAt": rfc3339,
        "endsAt": rfc3339 | st.just("0001-01-01T00:00:00Z"),
        "generatorURL": st.text(max_size=40),
        "fingerprint": st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    }
)
valid_webhooks: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "version": st.just("4"),
        "groupKey": st.text(min_size=1, max_size=60),
        "truncatedAlerts": st.integers(min_value=0, max_value=1000),
        "status": statuses,
        "receiver": st.text(max_size=30),
        "groupLabels": label_sets,
        "commonLabels": label_sets,
        "commonAnnotations": label_sets,
        "externalURL": st.text(max_size=40),
        "alerts": st.lists(alerts, min_size=1, max_size=4, unique_by=lambda a: str(a["fingerprint"])),
    }
)


@st.composite
def damaged_webhooks(draw: st.DrawFn) -> dict[str, Any]:
    """A valid webhook with one field, at the top or in an alert, replaced by any JSON value or removed."""
    document = draw(valid_webhooks)
    target = draw(st.sampled_from([document, *document["alerts"]]))
    key = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(json_values)
    return document


bodies = (
    json_values.map(lambda value: json.dumps(value).encode())
    | damaged_webhooks().map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=300)
    | valid_webhooks.map(lambda value: json.dumps(value).encode()).flatmap(
        lambda body: st.integers(0, max(len(body) - 1, 0)).map(lambda cut: body[:cut])
    )
)


@HTTP_SETTINGS
@given(body=bodies)
async def test_no_body_causes_a_server_error(ingest: httpx.AsyncClient, body: bytes) -> None:
    """Whatever the bytes, the answer is 200, 400 or 422, never a 5xx; refusals carry a detail."""
    response = await post_webhook(ingest, body)

    event(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code != 200:
        assert response.json()["detail"]


@HTTP_SETTINGS
@given(document=valid_webhooks)
async def test_valid_webhooks_are_accepted_with_their_event_id(
    ingest: httpx.AsyncClient, document: Any
) -> None:
    """A generated valid webhook is accepted, and its event id is the one normalise computes."""
    expected = normalise(AlertmanagerWebhook.model_validate(document), datetime.now(UTC)).event_id

    response = await post_webhook(ingest, document)

    assert response.status_code == 200, response.text
    assert response.json()["event_id"] == expected


@PURE_SETTINGS
@given(
    document=valid_webhooks,
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    data=st.data(),
)
def test_event_id_depends_on_the_content_only(
    document: dict[str, Any], delay: timedelta, data: st.DataObject
) -> None:
    """Same notification → same event id, whenever received, whatever its key and alert order."""
    now = datetime.now(UTC)
    shuffled = dict(reversed(list(document.items())))
    shuffled["alerts"] = data.draw(st.permutations(document["alerts"]))

    first = normalise(AlertmanagerWebhook.model_validate_json(json.dumps(document)), now)
    again = normalise(AlertmanagerWebhook.model_validate_json(json.dumps(shuffled)), now + delay)

    assert first.event_id == again.event_id
    assert len(first.event_id) == 40


@PURE_SETTINGS
@given(document=valid_webhooks)
def test_normalised_event_survives_the_wire(document: dict[str, Any]) -> None:
    """The published JSON parses back into the same AlertGroupEvent, alert for alert."""
    event = normalise(AlertmanagerWebhook.model_validate_json(json.dumps(document)), datetime.now(UTC))

    assert AlertGroupEvent.model_validate_json(event.model_dump_json()) == event
    assert len(event.alerts) == len(document["alerts"])
    assert all(alert.fingerprint for alert in event.alerts)
