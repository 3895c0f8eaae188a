"""Handling one Feishu event, whichever transport brought it: decide, log, count, publish once.

Both transports call this: the long connection from lark-oapi's thread (deciding there, then
handing the publish to the service's loop, see `handoff`) and the HTTP callback from its route.
A card click publishes only when it is the first by that asker on that card within the window.
"""

import structlog

from aegis.gateway_feishu.card_clicks import click_key, question_from_card_click
from aegis.gateway_feishu.claim_clicks import ClaimDesk
from aegis.gateway_feishu.click_guard import ClickGuard
from aegis.gateway_feishu.decisions import Ignored
from aegis.gateway_feishu.events import CardActionTriggered, MessageReceived
from aegis.gateway_feishu.message_questions import ChatPolicy, question_from_message
from aegis.gateway_feishu.metrics import EventKind, GatewayMetrics
from aegis.gateway_feishu.publishing import PublishFailed, PublishResult, QuestionPublisher
from aegis.shared.questions import QuestionEvent
from aegis.shared.settings import Locale

log = structlog.get_logger("aegis.gateway_feishu")
_LOGGED: dict[PublishResult, str] = {
    "published": "question published",
    "duplicate": "duplicate event dropped",
    "refused": "question refused for good; acknowledged so Feishu stops re-delivering",
}


class EventIntake:
    """The gateway's one path from a validated Feishu event to at most one question on NATS."""

    def __init__(
        self,
        policy: ChatPolicy,
        locale: Locale,
        publisher: QuestionPublisher,
        metrics: GatewayMetrics,
        clicks: ClickGuard,
        claims: ClaimDesk | None = None,
    ) -> None:
        self.policy = policy
        self.locale = locale
        self.publisher = publisher
        self.metrics = metrics
        self.clicks = clicks
        self.claims = claims  # answers the claim button (None: claim clicks are ignored)

    def message_question(self, received: MessageReceived) -> QuestionEvent | None:
        """The question a message asks, or None (logged and counted) when it asks none."""
        decision = question_from_message(received, self.policy)
        return self._kept(decision, received.header.event_id)

    def card_question(self, click: CardActionTriggered) -> QuestionEvent | None:
        """The question a card click asks, or None for buttons that are not Aegis's."""
        decision = question_from_card_click(click, self.locale, allowed_chat_ids=self.policy.allowed_chat_ids)
        return self._kept(decision, click.header.event_id)

    async def publish_click(
        self, click: CardActionTriggered, question: QuestionEvent, timeout_s: float | None = None
    ) -> PublishResult:
        """Publish a click's question unless its asker clicked this card within the window."""
        key = click_key(click)
        if not await self.clicks.claim(key):
            self.metrics.ignored("repeated_click")
            log.info("repeated click on the same card ignored", event_id=click.header.event_id)
            return "duplicate"
        try:
            return await self.publish("card_click", click.header.event_id, question, timeout_s)
        except PublishFailed:
            await self.clicks.release(key)
            raise

    async def publish(
        self, kind: EventKind, event_id: str, question: QuestionEvent, timeout_s: float | None = None
    ) -> PublishResult:
        """Publish once per event id; `PublishFailed` means it was not taken (yet), `refused` never."""
        try:
            published = await self.publisher.publish_once(event_id, question, timeout_s)
        except PublishFailed as error:
            self.metrics.question(kind, "failed")
            log.warning(
                "question not published",
                event_id=event_id,
                request_id=question.request_id,
                error=str(error),
            )
            raise
        self.metrics.question(kind, published.result)
        self.metrics.publish_seconds.observe(published.seconds)
        log.info(
            _LOGGED[published.result],
            event_id=event_id,
            request_id=question.request_id,
            kind=kind,
            chat_id=question.reply_to.chat_id if question.reply_to else None,
            services=question.services,
            model=question.model,
        )
        return published.result

    def _kept(self, decision: QuestionEvent | Ignored, event_id: str) -> QuestionEvent | None:
        if isinstance(decision, QuestionEvent):
            return decision
        self.metrics.ignored(decision.reason)
        if decision.reason == "chat_not_allowed":
            log.info("event from a chat outside FEISHU_ALLOWED_CHAT_IDS ignored", chat_id=decision.chat_id)
        else:
            log.debug("event ignored", event_id=event_id, reason=decision.reason, chat_id=decision.chat_id)
        return None
