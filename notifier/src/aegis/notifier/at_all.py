"""Alerts in groups that do not let the bot @all: sent again without the mention, never lost.

Feishu refuses the *whole* message when a card @s everyone in a group where only the owner and
admins may @all, and the code it answers with is not documented. So any refusal of a card that
mentions everyone is taken as possibly that: the same card goes out once more without the mention
and with a note saying why (`cards.without_mention`). When that one is accepted, the chat is
remembered as restricted (later cards go without the mention at once) and a log line and the
`aegis_notifier_at_all_refused_chats_total` metric say so, once per chat. The mention-free send
has its own deterministic uuid, so a redelivery after a crash still shows the alert only once.
"""

import structlog

from aegis.notifier import metrics
from aegis.notifier.cards import Card, mentions_everyone, without_mention
from aegis.notifier.sinks import CardSink, PermanentSendError
from aegis.shared.settings import Locale

log = structlog.get_logger("aegis.notifier.at_all")
MAX_UUID = 50


def unmentioned_uuid(uuid: str) -> str:
    """The uuid of the mention-free copy of the message sent under `uuid`."""
    return uuid[: MAX_UUID - 2] + "-n"


class MentionFallback:
    """A `CardSink` over another that retries a refused @all card without the mention."""

    def __init__(self, sink: CardSink, locale: Locale) -> None:
        self._sink = sink
        self._locale = locale
        self.restricted_chats: set[str] = set()

    async def send_card(self, chat_id: str, card: Card, uuid: str) -> str:
        if not mentions_everyone(card):
            return await self._sink.send_card(chat_id, card, uuid)
        if chat_id not in self.restricted_chats:
            try:
                return await self._sink.send_card(chat_id, card, uuid)
            except PermanentSendError as refusal:
                log.info(
                    "card with @all refused; sending it without the mention",
                    chat_id=chat_id,
                    code=refusal.code,
                    msg=refusal.msg,
                    log_id=refusal.log_id,
                )
                message_id = await self._sink.send_card(
                    chat_id, without_mention(card, self._locale), unmentioned_uuid(uuid)
                )
                self._restricted(chat_id, refusal)
                return message_id
        return await self._sink.send_card(
            chat_id, without_mention(card, self._locale), unmentioned_uuid(uuid)
        )

    async def reply_card(self, message_id: str, card: Card, uuid: str, in_thread: bool) -> str:
        return await self._sink.reply_card(message_id, card, uuid, in_thread)

    async def patch_card(self, message_id: str, card: Card) -> None:
        await self._sink.patch_card(message_id, card)

    def _restricted(self, chat_id: str, refusal: PermanentSendError) -> None:
        if chat_id in self.restricted_chats:
            return
        self.restricted_chats.add(chat_id)
        metrics.AT_ALL_REFUSED_CHATS.inc()
        log.warning(
            "this group does not let the bot @all: alerts go without the mention "
            "(a group owner can allow everyone to @all in the group settings)",
            chat_id=chat_id,
            code=refusal.code,
            log_id=refusal.log_id,
        )
