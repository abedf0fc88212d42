"""The shared golden cases (packages/core/golden/kpi-cases.json) through the Spark transform."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession

from golden_gen import GOLDEN_PATH, build_golden
from trip_metrics.transform import KPI_SCHEMA, MONEY_FIELDS, TRIP_SCHEMA, average_half_up, daily_kpis

GOLDEN: dict[str, Any] = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))


def _kpis_as_golden(spark: SparkSession, trips: list[dict[str, str]]) -> list[dict[str, Any]]:
    frame = spark.createDataFrame([tuple(t[f] for f in TRIP_SCHEMA.fieldNames()) for t in trips], TRIP_SCHEMA)
    return [row.asDict() for row in daily_kpis(frame).collect()]


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_golden_case(spark: SparkSession, case: dict[str, Any]) -> None:
    assert _kpis_as_golden(spark, case["trips"]) == case["expected"]


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


def test_output_types(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("t1", "2024-05-25 10:00:00", "2024-05-25 10:10:00", "1.5")], TRIP_SCHEMA)
    kpis = daily_kpis(frame)
    assert kpis.schema == KPI_SCHEMA
    assert [kpis.collect()[0][m] for m in MONEY_FIELDS] == ["1.50", "1.50", "1.50", "1.50"]


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
    assert average_half_up(Decimal(total), count) == average


@pytest.mark.parametrize("fare", ["", "1,5", "abc", "NaN", "Infinity"], ids=["empty", "comma", "word", "nan", "infinity"])
def test_text_that_is_no_number_fails_the_job_naming_the_trip(spark: SparkSession, fare: str) -> None:
    # DynamoDB's N type cannot hold any of these: only a broken reader could hand them over.
    frame = spark.createDataFrame([("bad-trip", "2024-05-25 10:00:00", "2024-05-25 10:10:00", fare)], TRIP_SCHEMA)
    with pytest.raises(Exception, match="bad-trip"):
        daily_kpis(frame).collect()


def test_malformed_pickup_fails_the_job_naming_the_trip(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("bad-pickup", "2024-05-25T10:00:00", "2024-05-25 10:10:00", "1")], TRIP_SCHEMA)
    with pytest.raises(Exception, match="bad-pickup"):
        daily_kpis(frame).collect()


def test_trailing_zeros_beyond_18_decimals_are_exact(spark: SparkSession) -> None:
    trips = [{"trip_id": "z", "pickup_datetime": "2024-05-25 10:00:00", "dropoff_datetime": "2024-05-25 10:01:00",
              "fare_amount": "1.005000000000000000000"}]
    assert _kpis_as_golden(spark, trips)[0]["total_fare"] == "1.01"
