"""Pure parts of the notifier: card rendering, pacing, and what the next slot carries."""

from datetime import timedelta

import pytest

from aegis.devkit.harness.alerts import alert_event
from aegis.notifier.cards import (
    CardOptions,
    card_json,
    colour,
    fits,
    render_alert_card,
    render_digest_card,
    silence_url,
)
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.planning import CardRecord, judge, plan_slot


@pytest.mark.parametrize(
    ("severity", "status", "expected"),
    [
        ("critical", "firing", "red"),
        ("warning", "firing", "orange"),
        ("info", "firing", "blue"),
        ("unknown", "firing", "yellow"),
        ("critical", "resolved", "green"),
    ],
)
def test_card_colour_follows_severity_and_status(severity: str, status: str, expected: str) -> None:
    """Header colour: red/orange/blue/yellow by severity while firing, green once resolved."""
    assert colour(alert_event(severity=severity, status=status)) == expected


def test_at_all_only_for_configured_severities() -> None:
    """@all appears for the configured severities only, and never on a resolve."""
    warning = alert_event(severity="warning")
    only_critical = CardOptions(at_all_severities=frozenset({"critical"}))
    assert "<at id=all></at>" not in card_json(render_alert_card(warning, only_critical))
    assert "<at id=all></at>" in card_json(render_alert_card(alert_event(), only_critical))
    assert "<at id=all></at>" not in card_json(
        render_alert_card(alert_event(status="resolved"), CardOptions())
    )


def test_silence_link_prefills_group_labels() -> None:
    """The silence button opens Alertmanager's new-silence form filtered on the group's labels."""
    url = silence_url(alert_event(), CardOptions())
    assert url is not None
    assert url.startswith("http://alertmanager.example:9093/#/silences/new?filter=")
    assert "alertname%3D%22PaymentHighErrorRate%22" in url


def test_huge_group_still_fits_one_card() -> None:
    """A group of 500 alerts with long annotations stays under Feishu's 30 KB card limit."""
    event = alert_event(alerts=500, summary="x" * 5000)
    card = render_alert_card(event, CardOptions())
    assert fits(card)
    assert "492" in card_json(card)  # "492 more not listed"


def test_english_locale() -> None:
    """LOCALE=en renders English labels."""
    card = render_alert_card(alert_event(), CardOptions(locale="en"))
    assert card["header"]["title"]["content"].startswith("FIRING [CRITICAL] PaymentHighErrorRate")


def test_pacer_spaces_sends_and_honours_pauses() -> None:
    """Sends to one chat are ≥ 1/rate apart; a pause pushes the next slot out; chats are independent."""
    now = [100.0]
    pacer = ChatPacer(5.0, clock=lambda: now[0])
    assert pacer.wait_time("a") == 0
    pacer.claim("a")
    assert pacer.wait_time("a") == pytest.approx(0.212)
    assert pacer.wait_time("b") == 0
    pacer.pause("a", 3.0)
    assert pacer.wait_time("a") == pytest.approx(3.0)
    now[0] += 3.0
    assert pacer.wait_time("a") == 0


def test_plan_sends_singly_below_threshold_and_digests_above() -> None:
    """Few waiting → the oldest alone; many → one digest of up to `digest_max` groups."""
    events = [alert_event(name=f"A{i}") for i in range(60)]
    options = CardOptions()
    assert plan_slot(events[:2], 0, 3, 40, options).events == (events[0],)
    assert plan_slot(events[:1], 500, 3, 40, options).events == (events[0],)
    digest = plan_slot(events, 0, 3, 40, options)
    assert digest.digest
    assert digest.events == tuple(events[:40])
    assert fits(render_digest_card(digest.events, options))


def test_judge_patches_redelivers_and_supersedes() -> None:
    """Resolve of an own firing card → patch; same event → already delivered; older event → superseded."""
    firing = alert_event()
    later = firing.received_at + timedelta(minutes=5)
    resolved = alert_event(status="resolved", received_at=later)
    record = CardRecord(
        event_id=firing.event_id, message_id="om_1", status="firing", received_at=firing.received_at
    )
    assert judge(firing, None) == "send"
    assert judge(firing, record) == "already_delivered"
    assert judge(resolved, record) == "patch"
    assert judge(resolved, record.model_copy(update={"digest": True})) == "send"
    newer = CardRecord(event_id=resolved.event_id, message_id="om_1", status="resolved", received_at=later)
    assert judge(alert_event(name="PaymentHighErrorRate", summary="older"), newer) == "superseded"


def test_firing_card_offers_an_analyse_button_for_the_gateway() -> None:
    """A firing card carries the "Analyse" button whose value names the alert's labels and start."""
    event = alert_event()
    card = render_alert_card(event, CardOptions(chat_id="oc_1"))
    [actions] = [e for e in card["elements"] if e["tag"] == "action"]
    [value, claim] = [b["value"] for b in actions["actions"] if "value" in b]
    assert value["aegis_action"] == "analyse"
    assert claim == {"aegis_action": "claim", "chat_id": "oc_1"}
    assert value["labels"]["service"] == "payment"
    assert value["starts_at"].startswith("2026-11-24T09:45")
    assert value["event_id"] == event.event_id
    assert value["chat_id"] == "oc_1"
    resolved = render_alert_card(alert_event(status="resolved"), CardOptions())
    assert "aegis_action" not in card_json(resolved)
