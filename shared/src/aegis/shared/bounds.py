"""Bounded field types shared by every contract, so that no event can carry poison past the edge.

A time without a zone is read as UTC and every time is converted to UTC at validation, so that two
times from one payload can always be compared; ids are short and made of safe characters (they
end up in NATS subjects, KV keys, Feishu uuids and log lines); windows have a longest span.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

# The longest window any event may carry; a deployment narrows it with MAX_LOOKBACK at its edges.
MAX_WINDOW = timedelta(days=31)
ID_PATTERN = r"^[A-Za-z0-9_-]+$"


def to_utc(moment: datetime) -> datetime:
    """`moment` as a UTC-aware datetime; a zone-less one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    if moment.tzinfo is UTC:
        return moment
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range once converted to UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(to_utc)]
RequestId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
ShortText = Annotated[str, Field(max_length=256)]
