"""The timeline a resolved alert leaves in its card's thread: the start of a postmortem.

When an alert group's card is patched resolved, its thread gets one message: when it fired, what
the analysis found (the top cause), who claimed it and when, when it resolved and how long it
lasted. `IncidentTrail` is what the alert delivery loop calls around a card: the claim kept on a
patch, the "last time" line on a new card, the card kept for claim clicks, the timeline on
resolve (its Feishu uuid comes from the event and chat, so a retried step shows it once).
"""

import hashlib
from datetime import datetime, timedelta

from aegis.notifier.cards import Card, card_frame, escape, markdown
from aegis.notifier.claims import CardKeeper
from aegis.notifier.memory import IncidentMemory
from aegis.notifier.pacing import ChatPacer
from aegis.notifier.runbooks import runbook_url
from aegis.notifier.sinks import CardSink
from aegis.shared.alerts import AlertGroupEvent
from aegis.shared.claims import Claim
from aegis.shared.incidents import IncidentRecord
from aegis.shared.messages import message
from aegis.shared.settings import Locale


def duration(span: timedelta) -> str:
    """`1h 02m`, `5m 10s`, `42s`."""
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def render_timeline(
    event: AlertGroupEvent, claim: Claim | None, analysis: IncidentRecord | None, locale: Locale
) -> Card:
    """The timeline card of a resolved group."""
    fired = min(alert.starts_at for alert in event.alerts)
    ended = [alert.ends_at for alert in event.alerts if alert.ends_at is not None]
    resolved = max(ended) if ended else event.received_at
    top = analysis.top if analysis else None
    cause = (
        message(locale, "timeline.cause", service=escape(top.service, 80), confidence=top.confidence)
        if top
        else message(locale, "timeline.none")
    )
    if top and analysis:
        cause += f" · {_at(analysis.answered_at)}"
    claimed = (
        message(locale, "timeline.by", who=f"<at id={claim.open_id}></at>", when=_at(claim.claimed_at))
        if claim
        else message(locale, "timeline.none")
    )
    lines = [
        f"**{message(locale, 'timeline.fired')}** {_at(fired)}",
        f"**{message(locale, 'timeline.analysed')}** {cause}",
        f"**{message(locale, 'timeline.claimed')}** {claimed}",
        f"**{message(locale, 'timeline.resolved')}** {_at(resolved)}",
        f"**{message(locale, 'timeline.lasted')}** {duration(resolved - fired)}",
    ]
    return card_frame(
        message(locale, "timeline.title", alert=escape(event.alertname, 120)),
        "grey",
        [markdown("\n".join(lines))],
    )


class IncidentTrail:
    """Claims, memory and the timeline around one chat's alert card."""

    def __init__(
        self,
        keeper: CardKeeper,
        memory: IncidentMemory | None,
        sink: CardSink,
        pacer: ChatPacer,
        locale: Locale,
    ) -> None:
        self._keeper = keeper
        self._memory = memory
        self._sink = sink
        self._pacer = pacer
        self._locale = locale

    async def recall(self, event: AlertGroupEvent) -> str | None:
        return await self._memory.recall_alert(event) if self._memory else None

    async def keeping_claim(self, card: Card, message_id: str) -> Card:
        return await self._keeper.keeping_claim(card, message_id)

    async def delivered(
        self, event: AlertGroupEvent, card: Card, message_id: str, chat: str, patched: bool
    ) -> None:
        """After a group's own card was sent or patched: keep it; on a resolve patch, the timeline."""
        await self._keeper.keep(message_id, card, runbook_url(event))
        if not (patched and event.status == "resolved"):
            return
        claim = await self._keeper.claim(message_id)
        analysis = await self._memory.of_card(message_id) if self._memory else None
        await self._pacer.acquire(chat)
        uuid = "t" + hashlib.sha256(f"{event.event_id}|{chat}".encode()).hexdigest()[:40]
        await self._sink.reply_card(
            message_id, render_timeline(event, claim, analysis, self._locale), uuid=uuid, in_thread=True
        )
