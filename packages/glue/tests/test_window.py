from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from trip_metrics.window import day_window, default_end_day, parse_day


def test_window_ends_at_end_day_inclusive_oldest_first() -> None:
    assert day_window(date(2024, 5, 25), 3) == [date(2024, 5, 23), date(2024, 5, 24), date(2024, 5, 25)]


def test_single_day_window() -> None:
    assert day_window(date(2024, 5, 25), 1) == [date(2024, 5, 25)]


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (date(2024, 3, 1), [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]),  # leap year
        (date(2023, 3, 1), [date(2023, 2, 27), date(2023, 2, 28), date(2023, 3, 1)]),
        (date(2025, 1, 1), [date(2024, 12, 30), date(2024, 12, 31), date(2025, 1, 1)]),
    ],
)
def test_window_crosses_month_and_year_boundaries(end: date, expected: list[date]) -> None:
    assert day_window(end, 3) == expected


@pytest.mark.parametrize("days", [0, -1])
def test_window_needs_a_day(days: int) -> None:
    with pytest.raises(ValueError):
        day_window(date(2024, 5, 25), days)


@pytest.mark.parametrize(
    ("now", "yesterday"),
    [
        (datetime(2024, 3, 1, 0, 30, tzinfo=UTC), date(2024, 2, 29)),
        (datetime(2024, 5, 25, 23, 59, 59, tzinfo=UTC), date(2024, 5, 24)),
        # 01:30 in UTC+2 is still the previous UTC day.
        (datetime(2024, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), date(2024, 2, 28)),
        (datetime(2025, 1, 1, 2, 0, tzinfo=UTC), date(2024, 12, 31)),
    ],
)
def test_default_end_day_is_yesterday_in_utc(now: datetime, yesterday: date) -> None:
    assert default_end_day(now) == yesterday


def test_default_end_day_rejects_naive_time() -> None:
    with pytest.raises(ValueError):
        default_end_day(datetime(2024, 5, 25, 12, 0))


def test_parse_day() -> None:
    assert parse_day("2024-02-29") == date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2023-02-29", "2024-2-29", "20240229", "2024-02-29T00:00", "", "yesterday"])
def test_parse_day_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day(text)


class TestWhatAnOperatorSees:
    """A bad --end-day or --window-days fails the job run: its message must say what was wrong."""

    @pytest.mark.parametrize(
        ("text", "reason"),
        [("20240525", "not in YYYY-MM-DD form"), ("2023-02-29", "day is out of range for month")],
    )
    def test_parse_day_names_the_text_and_the_reason(self, text: str, reason: str) -> None:
        with pytest.raises(ValueError, match=f"^expected a YYYY-MM-DD date, got '{text}': {reason}$"):
            parse_day(text)

    def test_window_error_names_the_count(self) -> None:
        with pytest.raises(ValueError, match=r"^the window needs at least one day, got 0$"):
            day_window(date(2024, 5, 25), 0)

    def test_naive_time_error_says_why(self) -> None:
        with pytest.raises(ValueError, match=r"^now must be timezone-aware$"):
            default_end_day(datetime(2024, 5, 25, 12, 0))

    def test_default_end_day_ignores_the_machine_time_zone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # 23:30 UTC on 29 Feb is already 1 March in Kiritimati (UTC+14): yesterday is still 28 Feb.
        monkeypatch.setenv("TZ", "Pacific/Kiritimati")
        time.tzset()
        try:
            assert default_end_day(datetime(2024, 2, 29, 23, 30, tzinfo=UTC)) == date(2024, 2, 28)
        finally:
            monkeypatch.undo()
            time.tzset()
