"""`aegis tail`: watch events pass on a subject, one line each, for debugging a flow."""

import asyncio
import json
from typing import TextIO

from nats.aio.client import Client
from nats.aio.msg import Msg


def format_event(msg: Msg) -> str:
    """`subject  compact-json` (or the raw text when the payload is not JSON)."""
    try:
        body = json.dumps(json.loads(msg.data), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        body = msg.data.decode(errors="replace")
    return f"{msg.subject}  {body}"


async def tail(client: Client, subject: str, count: int, out: TextIO) -> None:
    """Print messages on `subject` until `count` were seen (0: until interrupted)."""
    done = asyncio.Event()
    seen = 0

    async def show(msg: Msg) -> None:
        nonlocal seen
        print(format_event(msg), file=out, flush=True)
        seen += 1
        if count and seen >= count:
            done.set()

    subscription = await client.subscribe(subject, cb=show)
    await client.flush()
    try:
        await done.wait()
    finally:
        await subscription.unsubscribe()
