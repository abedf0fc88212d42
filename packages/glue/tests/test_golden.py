"""The shared golden cases (packages/core/golden/kpi-cases.json) through the Spark transform."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from golden_gen import GOLDEN_PATH, REGISTRY, build_golden
from pyspark.sql import SparkSession
from trip_metrics.registry import Registry
from trip_metrics.transform import daily_kpis, half_up, kpi_schema, trip_schema

GOLDEN: dict[str, Any] = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))


def _kpis_as_golden(spark: SparkSession, registry: Registry, trips: list[dict[str, str]]) -> list[dict[str, Any]]:
    schema = trip_schema(registry)
    frame = spark.createDataFrame([tuple(t.get(f) for f in schema.fieldNames()) for t in trips], schema)
    return [row.asDict() for row in daily_kpis(frame, registry).collect()]


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_golden_case(spark: SparkSession, registry: Registry, case: dict[str, Any]) -> None:
    assert _kpis_as_golden(spark, registry, case["trips"]) == case["expected"]


@pytest.fixture(scope="module")
def every_golden_row(spark: SparkSession, registry: Registry) -> list[dict[str, Any]]:
    return [row for case in GOLDEN["cases"] for row in _kpis_as_golden(spark, registry, case["trips"])]


# A field added to the registry without an implementation (a new aggregation or derived source) fails here.
@pytest.mark.parametrize("name", [f["name"] for f in REGISTRY["fields"]])
def test_every_registered_field_is_computed(every_golden_row: list[dict[str, Any]], name: str) -> None:
    assert all(list(row) == ["pickup_date", *(f["name"] for f in REGISTRY["fields"])] for row in every_golden_row)
    assert all(row[name] is not None for row in every_golden_row)
    assert len({row[name] for row in every_golden_row}) > 1


def test_golden_file_matches_its_generator() -> None:
    # Expectations come from the decimal oracle, not from the code under test.
    assert GOLDEN == build_golden()


def test_tricky_expectations_hand_checked() -> None:
    expected = {c["name"]: c["expected"] for c in GOLDEN["cases"]}
    assert expected["half_up_at_exactly_half_cent"][0]["total_fare"] == "2.68"
    assert expected["float_trap_point_one_plus_point_two"][1]["total_fare"] == "0.81"
    assert expected["average_tie_after_division"][0]["average_fare"] == "2.01"
    below = expected["average_just_below_half_cent_no_double_rounding"][0]
    assert (below["total_fare"], below["average_fare"], below["max_fare"]) == ("2481.34", "12.34", "12.35")
    assert expected["large_values"][0]["average_fare"] == "1000000000.00"
    assert expected["fifteen_decimal_fares"][0]["total_fare"] == "101.71"
    assert expected["durations_in_minutes"][0]["average_duration_minutes"] == "1.03"  # 61.5 s, exactly 1.025 min
    assert expected["median_odd_and_even"][1]["median_fare"] == "1.01"  # (1.00 + 1.01) / 2
    tips = expected["tips_and_distances"][0]
    assert (tips["total_tip"], tips["total_distance"]) == ("1.11", "2.44")  # 1.105 and 2.435: ties


# One trip of 10 minutes: the value of each field it sets (a new field is checked by name and by the golden cases).
EXPECTED_ROW = {
    "pickup_date": "2024-05-25",
    "total_fare": "1.50",
    "trip_count": 1,
    "average_fare": "1.50",
    "max_fare": "1.50",
    "min_fare": "1.50",
    "total_tip": "0.00",
    "total_distance": "0.00",
    "average_duration_minutes": "10.00",
    "median_fare": "1.50",
}


def test_output_types(spark: SparkSession, registry: Registry) -> None:
    frame = spark.createDataFrame(
        [("t1", "2024-05-25 10:00:00", "2024-05-25 10:10:00", "1.5")],
        ["trip_id", "pickup_datetime", "dropoff_datetime", "fare_amount"],
    )
    kpis = daily_kpis(frame, registry)
    assert kpis.schema == kpi_schema(registry)
    row = kpis.collect()[0].asDict()
    assert list(row) == ["pickup_date", *(field.name for field in registry.fields)]
    assert {name: row[name] for name in EXPECTED_ROW} == EXPECTED_ROW


@pytest.mark.parametrize(
    ("total", "count", "average"),
    [
        ("2481.344999999999999999", 201, "12.34"),  # just below the tie: no double rounding
        ("6.015", 3, "2.01"),  # exact tie after division
        ("0", 5, "0.00"),
        ("99999999999999999999.999999999999999999", 1, "100000000000000000000.00"),
        ("1" + "0" * 125, 3, "3" * 125 + ".33"),
    ],
)
def test_average_half_up(total: str, count: int, average: str) -> None:
    assert half_up(Fraction(Decimal(total)) / count, 2) == average


@pytest.mark.parametrize(
    "fare", ["", "1,5", "abc", "NaN", "Infinity"], ids=["empty", "comma", "word", "nan", "infinity"]
)
def test_text_that_is_no_number_fails_the_job_naming_the_trip(
    spark: SparkSession, registry: Registry, fare: str
) -> None:
    # DynamoDB's N type cannot hold any of these: only a broken reader could hand them over.
    schema = trip_schema(registry)
    for column in ("fare_amount", "tip_amount"):
        row = {
            "trip_id": "bad-trip",
            "pickup_datetime": "2024-05-25 10:00:00",
            "dropoff_datetime": "2024-05-25 10:10:00",
            "fare_amount": "1",
            column: fare,
        }
        frame = spark.createDataFrame([tuple(row.get(f) for f in schema.fieldNames())], schema)
        with pytest.raises(Exception, match=f"bad-trip {column}="):
            daily_kpis(frame, registry).collect()


def test_malformed_pickup_fails_the_job_naming_the_trip(spark: SparkSession, registry: Registry) -> None:
    frame = spark.createDataFrame(
        [("bad-pickup", "2024-05-25T10:00:00", "2024-05-25 10:10:00", "1")],
        ["trip_id", "pickup_datetime", "dropoff_datetime", "fare_amount"],
    )
    with pytest.raises(Exception, match="bad-pickup"):
        daily_kpis(frame, registry).collect()


def test_trailing_zeros_beyond_18_decimals_are_exact(spark: SparkSession, registry: Registry) -> None:
    trips = [
        {
            "trip_id": "z",
            "pickup_datetime": "2024-05-25 10:00:00",
            "dropoff_datetime": "2024-05-25 10:01:00",
            "fare_amount": "1.005000000000000000000",
        }
    ]
    assert _kpis_as_golden(spark, registry, trips)[0]["total_fare"] == "1.01"
