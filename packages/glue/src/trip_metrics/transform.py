"""Daily KPIs of completed trips, exact to the cent.

Fares are cast from text to DECIMAL(38, 18): 20 integer and 18 fraction digits, so sums of
15-decimal fares stay exact; a fare that does not fit exactly fails the job rather than
being rounded silently. Money is rounded HALF-UP to 2 decimals only at output.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, StringType, StructField, StructType

FARE_TYPE = DecimalType(38, 18)
MONEY_TYPE = DecimalType(38, 2)

# Input contract shared by the reader, the golden tests and the TypeScript core.
TRIP_SCHEMA = StructType(
    [
        StructField("trip_id", StringType(), nullable=False),
        StructField("pickup_datetime", StringType(), nullable=False),
        StructField("dropoff_datetime", StringType(), nullable=False),
        StructField("fare_amount", StringType(), nullable=False),
    ]
)

# Digits beyond the 18th decimal are allowed only when they are trailing zeros.
_EXACT_FARE = r"^[0-9]{1,20}(\.[0-9]{1,18}0*)?$"
_PICKUP_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"


def average_half_up(total: Decimal, count: int) -> Decimal:
    """round_half_up(total / count, 2) from the exact rational quotient (no double rounding).

    Spark's decimal division would round the quotient to 18 digits first, which turns
    12.344999999999999999995.. into 12.345 and then 12.35.
    """
    cents = math.floor(Fraction(total) * 100 / count + Fraction(1, 2))
    return Decimal(f"{cents // 100}.{cents % 100:02d}")


_average_udf = F.udf(average_half_up, MONEY_TYPE)


def _money(exact: Column) -> Column:
    # round() on a DECIMAL is exact HALF_UP, unlike on a DOUBLE.
    return F.round(exact, 2).cast(MONEY_TYPE)


def _checked_fare(trips: DataFrame) -> Column:
    """The fare as DECIMAL(38, 18), or a task failure naming the offending trip."""
    valid = F.col("fare_amount").rlike(_EXACT_FARE) & F.col("pickup_datetime").rlike(_PICKUP_DATETIME)
    message = F.concat(
        F.lit("completed trip with a fare or pickup_datetime that cannot be aggregated exactly: trip_id="),
        F.coalesce(F.col("trip_id"), F.lit("<null>")),
    )
    return F.when(F.coalesce(valid, F.lit(False)), F.col("fare_amount").cast(FARE_TYPE)).otherwise(F.raise_error(message))


def daily_kpis(trips: DataFrame) -> DataFrame:
    """One row per pickup date (first 10 chars of pickup_datetime), sorted by it.

    Columns: pickup_date, total_fare, trip_count, average_fare, max_fare, min_fare;
    money columns are MONEY_TYPE.
    """
    fares = trips.select(
        F.substring("pickup_datetime", 1, 10).alias("pickup_date"),
        _checked_fare(trips).alias("fare"),
    )
    exact = fares.groupBy("pickup_date").agg(
        F.sum("fare").alias("total"),
        F.count(F.lit(1)).alias("trip_count"),
        F.max("fare").alias("max"),
        F.min("fare").alias("min"),
    )
    # A DECIMAL(38, 18) sum that overflows becomes NULL (non-ANSI mode): fail instead.
    total = F.when(F.col("total").isNotNull(), F.col("total")).otherwise(
        F.raise_error(F.concat(F.lit("fare total overflows DECIMAL(38, 18) on "), F.col("pickup_date")))
    )
    return exact.select(
        "pickup_date",
        _money(total).alias("total_fare"),
        "trip_count",
        _average_udf(total, F.col("trip_count")).alias("average_fare"),
        _money(F.col("max")).alias("max_fare"),
        _money(F.col("min")).alias("min_fare"),
    ).orderBy("pickup_date")
