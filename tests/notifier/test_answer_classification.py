"""Pure rules: what each Feishu answer means, how a chat is paced down, and that every card fits 30 KB."""

import pytest

from aegis.devkit.harness.alerts import alert_event
from aegis.notifier.cards import (
    AT_ALL,
    CardOptions,
    fits,
    mentions_everyone,
    render_alert_card,
    render_digest_card,
    request_bytes,
    without_mention,
)
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.reply_cards import LinkOptions, render_result_card
from aegis.notifier.sinks import (
    MessageGone,
    PermanentSendError,
    RateLimited,
    SendError,
    TokenInvalid,
    TransientSendError,
    classify,
)
from aegis.shared.rca import Evidence, RcaResult, RootCauseCandidate

HUGE = "<&>" * 68_000


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, 0, None),
        (400, 230020, RateLimited),
        (200, 230020, RateLimited),
        (429, 99991400, RateLimited),
        (400, 99991400, RateLimited),
        (400, 99991663, TokenInvalid),
        (400, 99991661, TokenInvalid),
        (400, 99991671, TokenInvalid),
        (400, 99991677, TokenInvalid),
        (400, 230049, TransientSendError),
        (200, 1500, TransientSendError),
        (400, 1500, TransientSendError),
        (502, 99991902, TransientSendError),
        (400, 230011, MessageGone),
        (400, 230031, MessageGone),
        (400, 230002, PermanentSendError),
        (400, 230001, PermanentSendError),
        (400, 230099, PermanentSendError),
        (400, 230025, PermanentSendError),
        (200, 230002, PermanentSendError),
    ],
)
def test_each_feishu_answer_is_classified_from_code_and_status(
    status: int, code: int, expected: type[SendError] | None
) -> None:
    """The body code decides (refusals may be HTTP 200, limits 400); the status only when it is silent."""
    outcome = classify(status, code, "msg", "log-1", {})
    assert (type(outcome) if outcome is not None else None) is expected


def test_rate_limits_say_how_long_and_which() -> None:
    """The API limit waits its reset header; the chat's 230020 waits about a second and is per chat."""
    api = classify(429, 99991400, "limit", None, {"X-Ogw-Ratelimit-Reset": "3"})
    chat = classify(400, 230020, "frequency limit", None, {})
    assert isinstance(api, RateLimited)
    assert api.reset_s == 3
    assert not api.per_chat
    assert isinstance(chat, RateLimited)
    assert chat.reset_s == 1.0
    assert chat.per_chat


def test_refusal_names_feishu_code_msg_and_log_id() -> None:
    """A refusal carries what Feishu support asks for."""
    refusal = classify(400, 230002, "Bot/User can NOT be out of the chat.", "20261201000000000042", {})
    assert isinstance(refusal, PermanentSendError)
    assert (refusal.code, refusal.log_id) == (230002, "20261201000000000042")
    assert "code 230002" in str(refusal)
    assert "out of the chat" in str(refusal)
    assert "000042" in str(refusal)


def test_chat_limit_paces_that_chat_down_then_eases_back() -> None:
    """After 230020 a chat's sends are spaced wider, other chats are not, and the spacing recovers."""
    now = [0.0]
    pacer = ChatPacer(5, clock=lambda: now[0])
    pacer.slow_down("oc_a")
    assert pacer.interval_of("oc_a") == pytest.approx(pacer.interval * 1.5)
    assert pacer.interval_of("oc_b") == pacer.interval
    for _ in range(40):
        pacer.claim("oc_a")
    assert pacer.interval_of("oc_a") == pacer.interval


def test_alert_card_of_200_kb_escapable_text_fits_and_shows_the_cut() -> None:
    """Escaping `<&>` grows text 4–5×; the card is still under 30 KB with a visible "…"."""
    card = render_alert_card(alert_event(summary=HUGE, alerts=8), CardOptions())
    assert fits(card)
    assert request_bytes(card) <= 30 * 1024
    assert "…" in str(card)


def test_digest_of_many_huge_groups_fits() -> None:
    """A digest of 40 groups each with 200 KB summaries is still one card under 30 KB."""
    events = [alert_event(name=f"A{n}", summary=HUGE[: 3 * 2000]) for n in range(40)]
    card = render_digest_card(events, CardOptions())
    assert fits(card)
    assert str(card).count("A3") >= 1


def test_answer_card_with_huge_hypotheses_fits() -> None:
    """An answer quoting huge log lines is cut, not lost: summary and every candidate still show."""
    evidence = [Evidence(kind="log", query=HUGE[:3000], excerpt=HUGE[:9000]) for _ in range(8)]
    candidates = [
        RootCauseCandidate(
            rank=r, service=f"svc{r}", hypothesis=HUGE[:30000], confidence=0.5, evidence=evidence
        )
        for r in (1, 2, 3)
    ]
    result = RcaResult(
        request_id="r1",
        source="feishu",
        summary=HUGE[:9000],
        root_causes=candidates,
        next_actions=[HUGE[:900]] * 5,
    )
    card = render_result_card(result, LinkOptions(), "en")
    assert fits(card)
    assert all(f"svc{r}" in str(card) for r in (1, 2, 3))


def test_without_mention_drops_at_all_and_says_why() -> None:
    """The fallback card has no @all anywhere and carries the note, in the configured language."""
    card = render_alert_card(alert_event(), CardOptions(locale="en"))
    assert mentions_everyone(card)
    fallback = without_mention(card, "en")
    assert not mentions_everyone(fallback)
    assert AT_ALL not in str(fallback)
    assert "does not let the bot @all" in str(fallback)
