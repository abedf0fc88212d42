"""Output layout, line format and partition overwrite semantics, on a local file:// folder."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from golden_gen import CONTRACT_PATH
from pyspark.sql import DataFrame, SparkSession
from trip_metrics.registry import contract_registry
from trip_metrics.transform import daily_kpis
from trip_metrics.window import day_window
from trip_metrics.writer import write_daily_kpis

REGISTRY = contract_registry(CONTRACT_PATH)


def _kpis(spark: SparkSession, *trips: tuple[str, str, str]) -> DataFrame:
    """KPIs of (trip_id, pickup_datetime, fare) trips of no length."""
    rows = [(trip_id, pickup, pickup, fare) for trip_id, pickup, fare in trips]
    return daily_kpis(
        spark.createDataFrame(
            rows, "trip_id string, pickup_datetime string, dropoff_datetime string, fare_amount string"
        ),
        REGISTRY,
    )


def _day_lines(root: Path, day: str) -> list[str]:
    year, month, dom = day.split("-")
    folder = root / f"year={year}" / f"month={month}" / f"day={dom}"
    # Hidden files are the local file system's checksums (.crc), not output.
    files = sorted(f for f in folder.iterdir() if not f.name.startswith(".")) if folder.exists() else []
    assert [f.name for f in files] in ([], ["part-00000.jsonl"])  # the contract's one file per day
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]


def _days_on_disk(root: Path) -> list[str]:
    return sorted(
        f"{d.parent.parent.name[5:]}-{d.parent.name[6:]}-{d.name[4:]}" for d in root.glob("year=*/month=*/day=*")
    )


def test_layout_and_line_format(spark: SparkSession, tmp_path: Path) -> None:
    kpis = _kpis(
        spark,
        ("a", "2024-05-25 13:19:00", "40.09620692463166"),
        ("b", "2024-05-25 23:59:59", "0.004"),
        ("c", "2024-05-24 08:00:00", "1234.5"),
    )
    summary = write_daily_kpis(kpis, tmp_path.as_uri(), day_window(date(2024, 5, 25), 2))

    assert summary.written_days == ["2024-05-24", "2024-05-25"]
    assert _days_on_disk(tmp_path) == ["2024-05-24", "2024-05-25"]
    # The fare fields as they are written (numbers, 2 decimals); every registered field follows them.
    (day,) = _day_lines(tmp_path, "2024-05-25")
    assert day.startswith(
        '{"pickup_date":"2024-05-25","total_fare":40.10,"trip_count":2,"average_fare":20.05,"max_fare":40.10,"min_fare":0.00,'
    )
    assert '"median_fare":20.05' in day
    line = json.loads(_day_lines(tmp_path, "2024-05-24")[0])
    assert list(line) == ["pickup_date", *(field.name for field in REGISTRY.fields)]
    assert _day_lines(tmp_path, "2024-05-24")[0].count("1234.50") == 5


def test_rerun_replaces_only_computed_days_and_clears_empty_ones(spark: SparkSession, tmp_path: Path) -> None:
    uri = tmp_path.as_uri()
    first = _kpis(
        spark,
        ("old-1", "2024-05-20 10:00:00", "5.00"),  # outside the later window
        ("old-2", "2024-05-23 10:00:00", "6.00"),  # its trips are gone at the rerun
        ("old-3", "2024-05-24 10:00:00", "7.00"),  # gets a late completion at the rerun
    )
    write_daily_kpis(first, uri, day_window(date(2024, 5, 24), 5))
    untouched = _day_lines(tmp_path, "2024-05-20")

    rerun = _kpis(
        spark,
        ("old-3", "2024-05-24 10:00:00", "7.00"),
        ("late", "2024-05-24 22:00:00", "3.00"),
        ("new", "2024-05-25 09:00:00", "1.00"),
    )
    summary = write_daily_kpis(rerun, uri, day_window(date(2024, 5, 25), 3))

    assert summary.written_days == ["2024-05-24", "2024-05-25"]
    assert summary.cleared_days == ["2024-05-23"]
    assert _days_on_disk(tmp_path) == ["2024-05-20", "2024-05-24", "2024-05-25"]
    assert _day_lines(tmp_path, "2024-05-20") == untouched
    assert [json.loads(x)["trip_count"] for x in _day_lines(tmp_path, "2024-05-24")] == [2]


def test_window_without_trips_clears_all_its_days(spark: SparkSession, tmp_path: Path) -> None:
    uri = tmp_path.as_uri()
    write_daily_kpis(_kpis(spark, ("a", "2024-05-25 10:00:00", "1")), uri, [date(2024, 5, 25)])
    summary = write_daily_kpis(_kpis(spark), uri, day_window(date(2024, 5, 26), 2))
    assert summary == type(summary)(written_days=[], cleared_days=["2024-05-25", "2024-05-26"])
    assert _days_on_disk(tmp_path) == []


def test_files_of_an_earlier_layout_in_a_rewritten_day_are_removed(spark: SparkSession, tmp_path: Path) -> None:
    old = tmp_path / "year=2024" / "month=05" / "day=25" / "part-00000-1234.c000.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"pickup_date":"2024-05-25","trip_count":99}\n', encoding="utf-8")
    write_daily_kpis(_kpis(spark, ("a", "2024-05-25 10:00:00", "1")), tmp_path.as_uri(), [date(2024, 5, 25)])
    assert [json.loads(x)["trip_count"] for x in _day_lines(tmp_path, "2024-05-25")] == [1]


def test_rows_outside_the_window_are_refused(spark: SparkSession, tmp_path: Path) -> None:
    kpis = _kpis(spark, ("a", "2024-05-19 10:00:00", "1"))
    with pytest.raises(ValueError, match="2024-05-19"):
        write_daily_kpis(kpis, tmp_path.as_uri(), [date(2024, 5, 25)])
    assert _days_on_disk(tmp_path) == []
