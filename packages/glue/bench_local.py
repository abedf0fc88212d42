"""Local timing basis for the Glue cost estimate (see README.md).

1. Generates N completed trips in Spark (3 pickup days, 15-decimal fares) and times the KPI
   transform + JSON Lines write to a temp folder, cold and warm.
2. Times decoding DynamoDB Query pages (botocore's JSON parser + the reader's row mapping),
   the per-item CPU work the executors do when reading the GSI.

Run:  packages/glue/.venv/bin/python packages/glue/bench_local.py [--trips 1000000]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (sys.path[0], os.environ.get("PYTHONPATH")) if p)
os.environ["PYSPARK_PYTHON"] = sys.executable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from trip_metrics.reader import trip_row
from trip_metrics.registry import contract_registry
from trip_metrics.transform import REQUIRED_COLUMNS, daily_kpis
from trip_metrics.window import day_window
from trip_metrics.writer import write_daily_kpis

REGISTRY = contract_registry(Path(__file__).resolve().parents[1] / "core" / "golden" / "contract.json")
END_DAY = date(2024, 5, 25)
DAYS = 3


def synthetic_trips(spark: SparkSession, count: int) -> DataFrame:
    """`count` trips over DAYS days; fares 0..149 with 15 pseudo-random decimals."""
    seconds = (F.col("id") * 7919) % 86_400
    pickup_day = F.date_sub(F.lit(END_DAY.isoformat()).cast("date"), (F.col("id") % DAYS).cast("int"))
    clock = F.format_string(
        "%02d:%02d:%02d", (seconds / 3600).cast("int"), (seconds % 3600 / 60).cast("int"), (seconds % 60).cast("int")
    )
    return spark.range(count).select(
        F.concat(F.lit("t"), F.col("id").cast("string")).alias("trip_id"),
        F.concat_ws(" ", F.date_format(pickup_day, "yyyy-MM-dd"), clock).alias("pickup_datetime"),
        F.concat_ws(" ", F.date_format(pickup_day, "yyyy-MM-dd"), clock).alias("dropoff_datetime"),
        F.format_string("%d.%015d", F.col("id") % 150, (F.col("id") * 2_654_435_761) % 1_000_000_000_000_000).alias(
            "fare_amount"
        ),
    )


def time_transform_and_write(spark: SparkSession, count: int) -> float:
    with tempfile.TemporaryDirectory(prefix="trip-bench-") as out:
        started = time.perf_counter()
        # Cached as in the job (the writer reads the KPIs twice), then dropped so that the
        # next run recomputes instead of hitting this cache.
        kpis = daily_kpis(synthetic_trips(spark, count), REGISTRY).cache()
        summary = write_daily_kpis(kpis, Path(out).as_uri(), day_window(END_DAY, DAYS))
        elapsed = time.perf_counter() - started
        kpis.unpersist(blocking=True)
    assert len(summary.written_days) == DAYS
    return elapsed


def query_page_body(items: int) -> bytes:
    """A DynamoDB Query response of ~400-byte items, as the service sends it."""

    def item(i: int) -> dict[str, Any]:
        pickup = f"2024-05-25 {i % 24:02d}:{i % 60:02d}:00"
        return {
            "trip_id": {"S": f"7d0a6c1e-3b52-4c1f-9a55-{i:012d}"},
            "pickup_datetime": {"S": pickup},
            "dropoff_datetime": {"S": pickup},
            "fare_amount": {"N": f"{i % 150}.{(i * 2654435761) % 10**15:015d}"},
        }

    return json.dumps({"Count": items, "ScannedCount": items, "Items": [item(i) for i in range(items)]}).encode()


def time_page_decoding(items_per_page: int = 2_500, pages: int = 40) -> float:
    """Items/s for botocore parsing + row mapping (1 MB pages hold ~2,500 items of 400 B)."""
    import botocore.session
    from botocore.parsers import create_parser

    model = botocore.session.get_session().get_service_model("dynamodb").operation_model("Query").output_shape
    parser = create_parser("json")
    body = query_page_body(items_per_page)
    started = time.perf_counter()
    for _ in range(pages):
        parsed = parser.parse({"status_code": 200, "headers": {}, "body": body}, model)
        rows = [trip_row(item, REQUIRED_COLUMNS) for item in parsed["Items"]]
    elapsed = time.perf_counter() - started
    assert len(rows) == items_per_page
    return items_per_page * pages / elapsed


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--trips", type=int, default=1_000_000)
    count = args.parse_args().trips

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("trip-metrics-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    cold = time_transform_and_write(spark, count)
    warm = time_transform_and_write(spark, count)
    spark.stop()

    print(
        json.dumps(
            {
                "trips": count,
                "days": DAYS,
                "cores": os.cpu_count(),
                "spark_startup_s": round(startup, 2),
                "transform_write_cold_s": round(cold, 2),
                "transform_write_warm_s": round(warm, 2),
                "trips_per_s_warm": round(count / warm),
                "query_page_decode_items_per_s_per_core": round(time_page_decoding()),
            }
        )
    )


if __name__ == "__main__":
    main()
