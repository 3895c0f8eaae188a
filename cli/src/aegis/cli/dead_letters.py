"""`aegis dlq list | show | replay`: look at what could not be handled, and put it back.

Dead letters keep the original bytes and headers plus why they failed (see
`aegis.shared.dead_letters`). A replay republishes the original onto its original subject with a
dedup id of its own (`replay:<dlq seq>`), so replaying the same letter twice delivers it once,
and removes the letter once JetStream has stored the replay (`--keep` leaves it).
"""

import json
from dataclasses import dataclass
from typing import TextIO

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from aegis.shared.dead_letters import ORIGINAL_MSG_ID, DeadLetter, read_dead_letter
from aegis.shared.streams import DLQ_STREAM


@dataclass(frozen=True)
class StoredLetter:
    """One message of the dead-letter stream."""

    seq: int
    letter: DeadLetter
    headers: dict[str, str]
    data: bytes


async def letters(js: JetStreamContext, subject: str | None = None, limit: int = 100) -> list[StoredLetter]:
    """The newest `limit` dead letters (optionally of one original subject), oldest first."""
    state = (await js.stream_info(DLQ_STREAM)).state
    found: list[StoredLetter] = []
    if not state.messages:
        return found  # an empty stream reports first_seq 0, which no message can have
    for seq in range(state.last_seq, max(state.first_seq, 1) - 1, -1):
        if len(found) >= limit:
            break
        try:
            stored = await load(js, seq)
        except NotFoundError:
            continue  # deleted after a replay
        if subject is None or stored.letter.subject == subject:
            found.append(stored)
    return found[::-1]


async def load(js: JetStreamContext, seq: int) -> StoredLetter:
    """The dead letter at stream sequence `seq`."""
    raw = await js.get_msg(DLQ_STREAM, seq)
    headers = dict(raw.headers or {})
    return StoredLetter(seq, read_dead_letter(raw.subject or "", headers), headers, raw.data or b"")


def print_list(found: list[StoredLetter], out: TextIO) -> None:
    """One line per letter: sequence, when, where from, how often tried, why."""
    if not found:
        print("no dead letters", file=out)
        return
    print(f"{'seq':>6}  {'failed at':25}  {'subject':28}  {'tries':>5}  reason", file=out)
    for stored in found:
        letter = stored.letter
        reason = letter.reason if len(letter.reason) <= 90 else letter.reason[:89] + "…"
        when, tries = letter.failed_at[:25], letter.deliveries
        print(f"{stored.seq:>6}  {when:25}  {letter.subject:28}  {tries:>5}  {reason}", file=out)


def print_letter(stored: StoredLetter, out: TextIO) -> None:
    """Everything about one letter, the payload pretty-printed when it is JSON."""
    letter = stored.letter
    origin = f"{letter.stream} seq {letter.stream_seq}, consumer {letter.consumer}"
    print(f"dead letter {stored.seq} (from {origin})", file=out)
    print(
        f"subject:    {letter.subject}\nfailed at:  {letter.failed_at}\ndeliveries: {letter.deliveries}",
        file=out,
    )
    print(f"reason:     {letter.reason}", file=out)
    try:
        body = json.dumps(json.loads(stored.data), ensure_ascii=False, indent=2)
    except ValueError:
        body = stored.data.decode(errors="replace")
    print(f"payload:\n{body}", file=out)


async def replay(js: JetStreamContext, stored: StoredLetter, keep: bool) -> bool:
    """Republish the original; True when JetStream had it already (a replay done before)."""
    headers = {
        k: v for k, v in stored.headers.items() if not k.startswith("Aegis-Dlq-") and k != ORIGINAL_MSG_ID
    }
    headers["Nats-Msg-Id"] = f"replay:{stored.seq}"
    ack = await js.publish(stored.letter.subject, stored.data, headers=headers)
    if not keep:
        await js.delete_msg(DLQ_STREAM, stored.seq)
    return bool(ack.duplicate)
