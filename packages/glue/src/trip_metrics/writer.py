"""Daily KPI output: <output_uri>/year=YYYY/month=MM/day=DD/part-00000.jsonl (the contract's layout).

One line per day, written by the driver: pickup_date, then the registry's fields in order,
decimals as JSON numbers with exactly their type's places, the TypeScript KPI job's line format. Spark's JSON writer can neither name the file nor write a
number wider than DECIMAL(38), and the rows are a handful.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from trip_metrics.registry import ROW_KEY

METRICS_FILE = "part-00000.jsonl"


@dataclass(frozen=True)
class WriteSummary:
    written_days: list[str]
    cleared_days: list[str]


def day_partition_uri(output_uri: str, day: date) -> str:
    return f"{output_uri.rstrip('/')}/year={day:%Y}/month={day:%m}/day={day:%d}"


def kpi_line(row: dict[str, Any]) -> str:
    """`{"pickup_date":"2024-05-25","total_fare":40.10,...}`: the row's fields in order, decimal text straight into JSON numbers."""
    fields = [f"{json.dumps(name)}:{json.dumps(value) if name == ROW_KEY else value}" for name, value in row.items()]
    return "{" + ",".join(fields) + "}"


def _fs(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    # Hadoop's FileSystem speaks file://, s3:// (EMRFS on Glue) and s3a:// alike.
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _replace_day(spark: SparkSession, folder_uri: str, line: str) -> None:
    """Writes the day's file (an overwrite is atomic per object on S3), then removes anything else there."""
    fs, folder = _fs(spark, folder_uri)
    target = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(folder, METRICS_FILE)
    out = fs.create(target, True)
    try:
        out.write(bytearray((line + "\n").encode("utf-8")))
    finally:
        out.close()
    for status in fs.listStatus(folder):
        if status.getPath().getName() != METRICS_FILE:
            fs.delete(status.getPath(), True)


def _delete_recursively(spark: SparkSession, uri: str) -> None:
    fs, path = _fs(spark, uri)
    fs.delete(path, True)


def write_daily_kpis(kpis: DataFrame, output_uri: str, window: Sequence[date]) -> WriteSummary:
    """Replace exactly the window's days with `kpis`; leave every other day alone.

    A window day without completed trips would otherwise keep stale KPIs from an earlier run:
    such days are deleted.
    """
    window_days = {day.isoformat(): day for day in window}
    rows = sorted((row.asDict() for row in kpis.collect()), key=lambda row: row["pickup_date"])
    written = [row["pickup_date"] for row in rows]
    outside = [day for day in written if day not in window_days]
    if outside:
        # Overwriting a day outside the window with partial data would corrupt it.
        raise ValueError(f"KPI rows outside the window {sorted(window_days)}: {outside}")

    spark = kpis.sparkSession
    for row in rows:
        _replace_day(spark, day_partition_uri(output_uri, window_days[row["pickup_date"]]), kpi_line(row))
    cleared = sorted(set(window_days) - set(written))
    for day in cleared:
        _delete_recursively(spark, day_partition_uri(output_uri, window_days[day]))
    return WriteSummary(written_days=written, cleared_days=cleared)
