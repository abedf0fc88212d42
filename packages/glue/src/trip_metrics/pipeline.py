"""The daily KPI run, wired from plain-PySpark parts (the Glue entrypoint only adds awsglue)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession

from trip_metrics.reader import GsiSource, read_completed_trips
from trip_metrics.registry import Registry
from trip_metrics.transform import daily_kpis
from trip_metrics.window import day_window
from trip_metrics.writer import WriteSummary, write_daily_kpis


def run_daily_kpis(
    spark: SparkSession, source: GsiSource, end_day: date, days_window: int, output_uri: str, registry: Registry
) -> WriteSummary:
    """Recompute the window's daily KPIs from DynamoDB and replace their output partitions."""
    window = day_window(end_day, days_window)
    # daily_kpis aggregates eagerly (one read of DynamoDB) and hands back a day's row each.
    return write_daily_kpis(
        daily_kpis(read_completed_trips(spark, source, window, registry), registry), output_uri, window
    )
