"""Which pickup days a run (re)computes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text: str) -> date:
    """Parse a strict YYYY-MM-DD day (date.fromisoformat would also take 20240525)."""
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError("not in YYYY-MM-DD form")
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as error:
        raise ValueError(f"expected a YYYY-MM-DD date, got {text!r}: {error}") from None


def default_end_day(now: datetime) -> date:
    """Yesterday in UTC: the last day that is complete when the daily job runs."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC).date() - timedelta(days=1)


def day_window(end_day: date, days: int) -> list[date]:
    """The `days` days ending at `end_day` inclusive, oldest first.

    Recomputing a few past days lets trips completed late still count on their pickup day.
    """
    if days < 1:
        raise ValueError(f"the window needs at least one day, got {days}")
    return [end_day - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
