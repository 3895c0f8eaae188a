"""`aegis history list | show`: the incident memory the notifier keeps (`aegis.shared.incidents`).

Reads the `aegis_incidents` bucket; writes nothing. `list` prints the newest answered analyses
(when, the alert or question, the top cause with its confidence, who asked); `show` prints one in
full: the question, its scope, each candidate, the key evidence lines and a link to its thread.
"""

from datetime import UTC, datetime
from typing import TextIO

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError, NotFoundError
from pydantic import ValidationError

from aegis.shared.incidents import INCIDENTS_PREFIX, IncidentRecord, ago, analysis_key, thread_link
from aegis.shared.streams import INCIDENTS_BUCKET


async def records(js: JetStreamContext, limit: int = 50) -> list[IncidentRecord]:
    """The newest `limit` answered analyses, newest first (none when nothing was remembered yet)."""
    try:
        bucket = await js.key_value(INCIDENTS_BUCKET)
        keys = await bucket.keys()
    except (BucketNotFoundError, NotFoundError, NoKeysError):
        return []
    found = []
    for key in keys:
        if not key.startswith(INCIDENTS_PREFIX):
            continue
        try:
            entry = await bucket.get(key)
            found.append(IncidentRecord.model_validate_json(entry.value or b""))
        except (KeyNotFoundError, ValidationError):
            continue  # expired meanwhile, or written by a newer version
    found.sort(key=lambda r: r.answered_at, reverse=True)
    return found[:limit]


async def record(js: JetStreamContext, request_id: str) -> IncidentRecord | None:
    try:
        bucket = await js.key_value(INCIDENTS_BUCKET)
        entry = await bucket.get(analysis_key(request_id))
    except (BucketNotFoundError, NotFoundError, KeyNotFoundError):
        return None
    return IncidentRecord.model_validate_json(entry.value or b"")


def print_list(found: list[IncidentRecord], out: TextIO, now: datetime | None = None) -> None:
    if not found:
        print("no remembered analyses", file=out)
        return
    moment = now or datetime.now(UTC)
    print(f"{'answered':16}  {'request':28}  {'alert / question':32}  top cause", file=out)
    for item in found:
        top = item.top
        cause = f"{top.service} ({top.confidence:.0%})" if top else "-"
        what = (item.alertname or item.question)[:32]
        when = ago(moment - item.answered_at, "en")
        print(f"{when:16}  {item.request_id[:28]:28}  {what:32}  {cause}", file=out)


def print_record(item: IncidentRecord, out: TextIO) -> None:
    print(f"request:   {item.request_id}", file=out)
    print(
        f"answered:  {item.answered_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f" · asked by {item.asked_by}" if item.asked_by else ""),
        file=out,
    )
    print(f"question:  {item.question}", file=out)
    if item.alertname:
        print(f"alert:     {item.alertname} · service {item.alert_service or '-'}", file=out)
    if item.services:
        print(f"scope:     {', '.join(item.services)}", file=out)
    if item.summary:
        print(f"summary:   {item.summary}", file=out)
    for rank, cause in enumerate(item.candidates, 1):
        print(f"  {rank}. {cause.service} ({cause.confidence:.0%}): {cause.hypothesis}", file=out)
    for line in item.evidence:
        print(f"     · {line}", file=out)
    if link := thread_link(item.chat_id):
        print(f"thread:    {link}", file=out)
