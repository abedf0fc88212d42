"""Daily KPIs of completed trips, exact for every fare DynamoDB can store.

The contract (packages/core/golden/contract.json) lets a fare be anything DynamoDB stores
exactly: 0, or 1E-130 up to (not including) 1E126 with 38 significant digits. No Spark DECIMAL
holds that range (DECIMAL(38,18) stops at 18 decimals and 20 integer digits), so fares are
aggregated with Python's decimal module in a context wide enough that no operation ever
rounds (an Inexact trap proves it), and money leaves as exact decimal text, rounded HALF-UP
to 2 decimals only at output. No stored fare can fail the job.

Duplicates: one trip per trip_id, the one with the earliest pickup (the contract's rule,
shared with the TypeScript KPI job); a tie (the same item read twice) keeps the smaller fare.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation
from fractions import Fraction
from typing import Optional

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

# Input contract shared by the reader, the golden tests and the TypeScript core.
TRIP_SCHEMA = StructType(
    [
        StructField("trip_id", StringType(), nullable=False),
        StructField("pickup_datetime", StringType(), nullable=False),
        StructField("dropoff_datetime", StringType(), nullable=False),
        StructField("fare_amount", StringType(), nullable=False),
    ]
)

# Money is exact decimal text with exactly two decimals: totals of fares near 1E126 fit no Spark type.
KPI_SCHEMA = StructType(
    [
        StructField("pickup_date", StringType(), nullable=False),
        StructField("total_fare", StringType(), nullable=False),
        StructField("trip_count", LongType(), nullable=False),
        StructField("average_fare", StringType(), nullable=False),
        StructField("max_fare", StringType(), nullable=False),
        StructField("min_fare", StringType(), nullable=False),
    ]
)
MONEY_FIELDS = ("total_fare", "average_fare", "max_fare", "min_fare")

DUPLICATE_RULE = "one_per_trip_id_earliest_pickup"

# Fares span 1E-168 (38 digits below 1E-130) to 1E126: 294 digits; 400 leaves room for the
# carries of 10^100 trips. Any rounding at all raises Inexact instead of passing silently.
_EXACT = Context(prec=400, rounding=ROUND_HALF_UP, traps=[Inexact, InvalidOperation])
_OUTPUT = Context(prec=400, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_CENT = Decimal("0.01")
_PICKUP_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"

Totals = tuple[Decimal, int, Decimal, Decimal]  # total, count, max, min


def exact_fare(text: str, trip_id: str) -> Decimal:
    """The fare as an exact Decimal; only text that is not a number (never a stored N) fails."""
    try:
        fare = Decimal(text)
    except InvalidOperation:
        fare = Decimal("NaN")
    if not fare.is_finite():
        raise ValueError(f"completed trip with a fare that is not a number: trip_id={trip_id} fare_amount={text!r}")
    return fare


def money(value: Decimal) -> str:
    """HALF-UP to 2 decimals, as plain text (the only rounding step)."""
    return format(value.quantize(_CENT, context=_OUTPUT), "f")


def average_half_up(total: Decimal, count: int) -> str:
    """round_half_up(total / count, 2) from the exact rational quotient (no double rounding).

    Rounding the quotient to a finite precision first would turn 12.344999999999999999995..
    into 12.345 and then 12.35.
    """
    cents = math.floor(Fraction(total) * 100 / count + Fraction(1, 2))
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _earlier(a: tuple[str, Decimal], b: tuple[str, Decimal]) -> tuple[str, Decimal]:
    """The duplicate rule: earliest pickup; a tie keeps the smaller fare (order-independent)."""
    return a if (a[0], a[1]) <= (b[0], b[1]) else b


def _add(totals: Optional[Totals], fare: Decimal) -> Totals:
    if totals is None:
        return fare, 1, fare, fare
    total, count, high, low = totals
    return _EXACT.add(total, fare), count + 1, max(high, fare), min(low, fare)


def _merge(a: Optional[Totals], b: Optional[Totals]) -> Optional[Totals]:
    if a is None or b is None:
        return a if b is None else b
    return _EXACT.add(a[0], b[0]), a[1] + b[1], max(a[2], b[2]), min(a[3], b[3])


def kpi_row(day: str, totals: Totals) -> tuple[str, str, int, str, str, str]:
    total, count, high, low = totals
    return day, money(total), count, average_half_up(total, count), money(high), money(low)


def daily_kpis(trips: DataFrame) -> DataFrame:
    """One row per pickup date (first 10 chars of pickup_datetime), sorted by it, in KPI_SCHEMA."""
    valid_pickup = F.coalesce(F.col("pickup_datetime").rlike(_PICKUP_DATETIME), F.lit(False))
    checked = trips.select(
        "trip_id",
        F.when(valid_pickup, F.col("pickup_datetime")).otherwise(
            F.raise_error(F.concat(F.lit("completed trip with a malformed pickup_datetime: trip_id="), F.coalesce(F.col("trip_id"), F.lit("<null>"))))
        ),
        "fare_amount",
    )
    per_trip = checked.rdd.map(lambda row: (row[0], (row[1], exact_fare(row[2], row[0])))).reduceByKey(_earlier)
    per_day = per_trip.map(lambda kv: (kv[1][0][:10], kv[1][1])).aggregateByKey(None, _add, _merge)
    # A handful of rows (one per day): finished on the driver.
    rows = sorted(kpi_row(day, totals) for day, totals in per_day.collect())
    return trips.sparkSession.createDataFrame(rows, KPI_SCHEMA)
