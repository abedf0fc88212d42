"""packages/core/golden/contract.json, the rules shared with the TypeScript pipeline (vitest reads
the same file): the Glue job follows each one."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from generate_trip_metrics import output_uri
from golden_gen import CONTRACT_PATH, expected_kpis, trip
from pyspark.sql import SparkSession
from trip_metrics.reader import GsiSource, gsi_partition_keys
from trip_metrics.registry import Registry
from trip_metrics.transform import DUPLICATE_RULE, daily_kpis, trip_schema
from trip_metrics.writer import METRICS_FILE, day_partition_uri

CONTRACT = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fare", CONTRACT["fare_domain"]["accepted"])
def test_every_fare_validation_accepts_is_aggregated_exactly(
    spark: SparkSession, registry: Registry, fare: str
) -> None:
    trips = [
        trip("a", "2024-05-25 10:00:00", "2024-05-25 10:10:00", fare, tip_amount=fare, trip_distance=fare),
        trip("b", "2024-05-25 11:00:00", "2024-05-25 11:10:00", "0.005"),
    ]
    schema = trip_schema(registry)
    frame = spark.createDataFrame([tuple(t.get(f) for f in schema.fieldNames()) for t in trips], schema)
    assert [row.asDict() for row in daily_kpis(frame, registry).collect()] == expected_kpis(trips)


def test_domain_edges_are_beyond_any_spark_decimal() -> None:
    domain = CONTRACT["fare_domain"]
    assert (domain["min_exponent"], domain["max_exponent"], domain["max_significant_digits"]) == (-130, 125, 38)
    assert min(Decimal(f) for f in domain["accepted"] if Decimal(f) > 0) == Decimal("1E-130")


def test_gsi_keys_and_shards() -> None:
    gsi = CONTRACT["completed_by_day"]
    source = GsiSource(table_name="t")
    # The job's own defaults (the stack passes --GSI_NAME and --GSI_SHARDS from the same definition).
    assert (source.index_name, source.shards) == (gsi["index_name"], gsi["shards"])
    expected = gsi["partition_key_template"].format(pickup_date="2024-02-29", day_shard="07")
    assert gsi_partition_keys([date(2024, 2, 29)], gsi["shards"])[7] == expected


def test_metrics_path_and_file_name() -> None:
    metrics = CONTRACT["metrics"]
    uri = output_uri("file:///bucket", metrics["prefix"])
    day = metrics["day_path_template"].format(yyyy="2024", mm="02", dd="29")
    assert (
        f"{day_partition_uri(uri, date(2024, 2, 29))}/{METRICS_FILE}"
        == f"file:///bucket/{metrics['prefix']}{day}{metrics['file_name']}"
    )


def test_duplicate_rule() -> None:
    assert DUPLICATE_RULE == CONTRACT["duplicates"]["rule"]
