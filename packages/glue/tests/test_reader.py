"""The GSI reader against a local moto DynamoDB server, queried from Spark's executors."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import dynamodb_fixture as ddb
import pytest
from pyspark.sql import SparkSession
from trip_metrics.pipeline import run_daily_kpis
from trip_metrics.reader import GsiSource, gsi_partition_keys, read_completed_trips, trip_row
from trip_metrics.registry import Registry
from trip_metrics.window import day_window

TABLE = "TripData"
SHARDS = 16

COMPLETED = [
    # (trip_id, pickup, dropoff, fare, shard, tip, distance)
    ("c1", "2024-02-28 23:55:00", "2024-02-29 00:20:00", "40.09620692463166", 0),
    ("c2", "2024-02-29 00:01:00", "2024-02-29 00:30:00", "12.345678901234567", 3),
    ("c3", "2024-02-29 12:00:00", "2024-02-29 12:30:00", "0.1", 3),
    ("c4", "2024-02-29 13:00:00", "2024-02-29 13:10:00", "0.2", 15),
    ("c5", "2024-03-01 08:00:00", "2024-03-01 08:10:00", "999999999.999", 7, "1.5", "3.25"),
    ("c6", "2024-03-01 09:00:00", "2024-03-01 09:10:00", "0", 7),
    ("c7", "2024-03-01 10:00:00", "2024-03-01 10:10:00", "2.675", 7, "0.005"),
    ("c8", "2024-03-01 11:00:00", "2024-03-01 11:10:00", "1.1", 7),
    # Outside the 2024-02-28..2024-03-01 window.
    ("x1", "2024-02-27 23:59:59", "2024-02-28 00:10:00", "5.00", 0),
    ("x2", "2024-03-02 00:00:00", "2024-03-02 00:10:00", "6.00", 0),
]
RAW = [("c2", "2024-02-29 00:01:00", "12.34"), ("r1", "2024-02-29 10:00:00", "99.99")]
WINDOW = day_window(date(2024, 3, 1), 3)


def _numbers(t: tuple[Any, ...]) -> dict[str, str]:
    return dict(zip(("tip_amount", "trip_distance"), t[5:], strict=False))


def _trip(t: tuple[Any, ...]) -> tuple[str | None, ...]:
    """The row the reader should give: the columns, numbers as exact text, an absent one None."""
    numbers = _numbers(t)
    return (*t[:4], numbers.get("tip_amount"), numbers.get("trip_distance"))


@pytest.fixture(scope="module")
def trip_table(dynamodb_endpoint: str) -> str:
    ddb.create_trip_table(dynamodb_endpoint, TABLE)
    ddb.put_items(
        dynamodb_endpoint,
        TABLE,
        [ddb.completed_item(*_trip(t)[:4], t[4], **_numbers(t)) for t in COMPLETED] + [ddb.raw_item(*r) for r in RAW],
    )
    return dynamodb_endpoint


def _source(endpoint: str, page_size: int | None = None) -> GsiSource:
    return GsiSource(
        table_name=TABLE, shards=SHARDS, region_name=ddb.REGION, endpoint_url=endpoint, page_size=page_size
    )


def test_partition_keys_cover_every_day_and_shard() -> None:
    keys = gsi_partition_keys([date(2024, 2, 29), date(2024, 3, 1)], 16)
    assert len(keys) == 32
    assert keys[0] == "DAY#2024-02-29#00" and keys[15] == "DAY#2024-02-29#15" and keys[-1] == "DAY#2024-03-01#15"


@pytest.mark.parametrize("page_size", [None, 1], ids=["1MB-pages", "one-item-pages"])
def test_reader_returns_exactly_the_windows_completed_trips(
    spark: SparkSession, registry: Registry, trip_table: str, page_size: int | None
) -> None:
    trips = read_completed_trips(spark, _source(trip_table, page_size), WINDOW, registry).collect()
    expected = sorted(_trip(t) for t in COMPLETED if not t[0].startswith("x"))
    assert sorted(tuple(row) for row in trips) == expected
    # Text in, exact Decimal out: no float ever touched the fares.
    assert sum(Decimal(row.fare_amount) for row in trips) == Decimal("1000000056.515885825866227")


def _single_line(root: Path, day: str) -> str:
    (part,) = (
        f
        for f in (root / f"year={day[:4]}" / f"month={day[5:7]}" / f"day={day[8:]}").iterdir()
        if not f.name.startswith(".")
    )
    assert part.name == "part-00000.jsonl"
    (line,) = part.read_text(encoding="utf-8").splitlines()
    return line


def test_full_run_from_dynamodb_to_json_lines(
    spark: SparkSession, registry: Registry, trip_table: str, tmp_path: Path
) -> None:
    stale = tmp_path / "year=2024" / "month=02" / "day=27"  # outside the window: must survive
    stale.mkdir(parents=True)
    (stale / "part-0.json").write_text('{"pickup_date":"2024-02-27"}\n', encoding="utf-8")

    summary = run_daily_kpis(spark, _source(trip_table), date(2024, 3, 1), 3, tmp_path.as_uri(), registry)

    assert summary.written_days == ["2024-02-28", "2024-02-29", "2024-03-01"]
    lines = {day: _single_line(tmp_path, day) for day in summary.written_days}
    line = lines["2024-03-01"]
    assert line.startswith(
        '{"pickup_date":"2024-03-01","total_fare":1000000003.77,"trip_count":4,'
        '"average_fare":250000000.94,"max_fare":1000000000.00,"min_fare":0.00,'
    )
    assert list(json.loads(line)) == ["pickup_date", *(field.name for field in registry.fields)]
    for written in (
        '"total_tip":1.51',
        '"total_distance":3.25',
        '"average_duration_minutes":10.00',
        '"median_fare":1.89',
    ):
        assert written in line
    assert json.loads(lines["2024-02-29"])["trip_count"] == 3
    assert json.loads(lines["2024-02-28"])["trip_count"] == 1
    assert (stale / "part-0.json").exists()


def test_trip_row_reads_numbers_exactly_and_optional_columns_as_none() -> None:
    item = ddb.completed_item("t", "2024-05-25 10:00:00", "2024-05-25 10:10:00", "1E-130", 0, tip_amount="2.50")
    columns = ("trip_id", "fare_amount", "tip_amount", "trip_distance")
    assert trip_row(item, columns) == ("t", "0." + "0" * 129 + "1", "2.50", None)
    del item["fare_amount"]
    with pytest.raises(ValueError, match="lacks 'fare_amount'"):
        trip_row(item, columns)
