"""Daily KPI output: JSON Lines under <output_uri>/year=YYYY/month=MM/day=DD/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


@dataclass(frozen=True)
class WriteSummary:
    written_days: list[str]
    cleared_days: list[str]


def day_partition_uri(output_uri: str, day: date) -> str:
    return f"{output_uri.rstrip('/')}/year={day:%Y}/month={day:%m}/day={day:%d}"


def _delete_recursively(spark: SparkSession, uri: str) -> None:
    # Hadoop's FileSystem speaks file://, s3:// (EMRFS on Glue) and s3a:// alike.
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)


def write_daily_kpis(kpis: DataFrame, output_uri: str, window: Sequence[date]) -> WriteSummary:
    """Replace exactly the window's day partitions with `kpis`; leave every other day alone.

    Dynamic partition overwrite only replaces partitions that receive rows, so a window day
    without completed trips would keep stale KPIs from an earlier run: such days are deleted.
    `kpis` is evaluated twice (day list, then write): persist it if it is costly to compute.
    """
    window_days = {day.isoformat(): day for day in window}
    written = sorted(row.pickup_date for row in kpis.select("pickup_date").collect())
    outside = [day for day in written if day not in window_days]
    if outside:
        # Overwriting a day outside the window with partial data would corrupt it.
        raise ValueError(f"KPI rows outside the window {sorted(window_days)}: {outside}")

    if written:
        (
            kpis.withColumn("year", F.substring("pickup_date", 1, 4))
            .withColumn("month", F.substring("pickup_date", 6, 2))
            .withColumn("day", F.substring("pickup_date", 9, 2))
            .coalesce(1)  # a handful of rows: one file per day
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy("year", "month", "day")
            .json(output_uri)
        )

    cleared = sorted(set(window_days) - set(written))
    spark = kpis.sparkSession
    for day in cleared:
        _delete_recursively(spark, day_partition_uri(output_uri, window_days[day]))
    return WriteSummary(written_days=written, cleared_days=cleared)
