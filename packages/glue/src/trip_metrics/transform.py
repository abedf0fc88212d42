"""Daily KPIs of completed trips: every field of the KPI registry (registry.py), exact for every
value DynamoDB can store.

The contract (packages/core/golden/contract.json) lets a fare be anything DynamoDB stores
exactly: 0, or 1E-130 up to (not including) 1E126 with 38 significant digits. No Spark DECIMAL
holds that range (DECIMAL(38,18) stops at 18 decimals and 20 integer digits), so values are
aggregated with Python's decimal module in a context wide enough that no operation ever
rounds (an Inexact trap proves it), and leave as exact decimal text, rounded HALF-UP to their
type's places only at output (from the exact rational value: no double rounding). No stored
value can fail the job.

Duplicates: one trip per trip_id, the one with the earliest pickup (the contract's rule,
shared with the TypeScript KPI job); a tie (the same item read twice) keeps the smaller fare.
A source column a trip lacks counts as 0; duration_seconds is dropoff - pickup in whole seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation
from fractions import Fraction
from functools import partial
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from trip_metrics.registry import DERIVED_SOURCES, ROW_KEY, KpiField, Registry

# The columns every completed trip has; the registry's other sources are optional columns.
REQUIRED_COLUMNS = ("trip_id", "pickup_datetime", "dropoff_datetime", "fare_amount")


def trip_schema(registry: Registry) -> StructType:
    """The input rows: the required columns, then each column a registry field reads (text, nullable)."""
    optional = [s for s in registry.sources if s not in REQUIRED_COLUMNS and s not in DERIVED_SOURCES]
    return StructType(
        [StructField(name, StringType(), nullable=False) for name in REQUIRED_COLUMNS]
        + [StructField(name, StringType(), nullable=True) for name in optional]
    )


def kpi_schema(registry: Registry) -> StructType:
    """pickup_date, then every field: counts as longs, decimals as exact text (totals near 1E126 fit no Spark type)."""
    return StructType(
        [StructField(ROW_KEY, StringType(), nullable=False)]
        + [
            StructField(f.name, LongType() if f.type == "count" else StringType(), nullable=False)
            for f in registry.fields
        ]
    )


DUPLICATE_RULE = "one_per_trip_id_earliest_pickup"

# Values span 1E-168 (38 digits below 1E-130) to 1E126: 294 digits; 400 leaves room for the
# carries of 10^100 trips. Any rounding at all raises Inexact instead of passing silently.
_EXACT = Context(prec=400, rounding=ROUND_HALF_UP, traps=[Inexact, InvalidOperation])
_PICKUP_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"

_SECONDS = "%Y-%m-%d %H:%M:%S"


def exact_value(text: str | None, trip_id: str, column: str) -> Decimal:
    """A column's exact Decimal (absent: 0); only text that is not a number (never a stored N) fails."""
    if text is None:
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(f"completed trip with a {column} that is not a number: trip_id={trip_id} {column}={text!r}")
    return value


def duration_seconds(pickup: str, dropoff: str) -> Decimal:
    """Whole seconds from pickup to dropoff."""
    return Decimal(int((datetime.strptime(dropoff, _SECONDS) - datetime.strptime(pickup, _SECONDS)).total_seconds()))


def half_up(value: Fraction, places: int) -> str:
    """round_half_up(value, places) from the exact rational value, as plain text (the only rounding step).

    Rounding a quotient to a finite precision first would turn 12.344999999999999999995..
    into 12.345 and then 12.35.
    """
    # Half-up on the magnitude (half away from zero) and the sign kept, as the TypeScript Decimal rounds.
    units = math.floor(abs(value) * 10**places + Fraction(1, 2))
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(units, 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}" if places > 0 else f"{sign}{whole}"


@dataclass
class DayTotals:
    """A day's aggregates per source column: count, exact sums, extremes and (for medians) every value."""

    count: int
    sums: list[Decimal]
    highs: list[Decimal]
    lows: list[Decimal]
    values: list[list[Decimal]]


def _start(values: tuple[Decimal, ...], keep: tuple[bool, ...]) -> DayTotals:
    return DayTotals(
        1, list(values), list(values), list(values), [[v] if k else [] for v, k in zip(values, keep, strict=True)]
    )


def _merge(a: DayTotals, b: DayTotals) -> DayTotals:
    return DayTotals(
        a.count + b.count,
        [_EXACT.add(x, y) for x, y in zip(a.sums, b.sums, strict=True)],
        [max(x, y) for x, y in zip(a.highs, b.highs, strict=True)],
        [min(x, y) for x, y in zip(a.lows, b.lows, strict=True)],
        [x + y for x, y in zip(a.values, b.values, strict=True)],
    )


def _field_value(registry: Registry, field: KpiField, totals: DayTotals) -> str | int:
    if field.aggregation == "count":
        return totals.count
    kind = registry.types[field.type]
    i = registry.sources.index(field.source)

    def output(value: Fraction) -> str | int:
        text = half_up(value / kind.source_units, kind.places)
        return int(text) if field.type == "count" else text

    if field.aggregation == "sum":
        return output(Fraction(totals.sums[i]))
    if field.aggregation == "mean":
        return output(Fraction(totals.sums[i]) / totals.count)
    if field.aggregation == "max":
        return output(Fraction(totals.highs[i]))
    if field.aggregation == "min":
        return output(Fraction(totals.lows[i]))
    ordered = sorted(totals.values[i])
    middle = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return output(Fraction(ordered[middle]))
    return output((Fraction(ordered[middle - 1]) + Fraction(ordered[middle])) / 2)


def kpi_row(registry: Registry, day: str, totals: DayTotals) -> tuple[str | int, ...]:
    return (day, *(_field_value(registry, field, totals) for field in registry.fields))


def _earlier(
    a: tuple[str, Decimal, tuple[Decimal, ...]], b: tuple[str, Decimal, tuple[Decimal, ...]]
) -> tuple[str, Decimal, tuple[Decimal, ...]]:
    """The duplicate rule: earliest pickup; a tie keeps the smaller fare (order-independent)."""
    return a if (a[0], a[1]) <= (b[0], b[1]) else b


def _trip_values(row: Any, sources: tuple[str, ...]) -> tuple[str, tuple[str, Decimal, tuple[Decimal, ...]]]:
    trip_id = row["trip_id"]
    values = tuple(
        duration_seconds(row["pickup_datetime"], row["dropoff_datetime"])
        if s == "duration_seconds"
        else exact_value(row[s], trip_id, s)
        for s in sources
    )
    return trip_id, (row["pickup_datetime"], exact_value(row["fare_amount"], trip_id, "fare_amount"), values)


def daily_kpis(trips: DataFrame, registry: Registry) -> DataFrame:
    """One row per pickup date (first 10 chars of pickup_datetime), sorted by it, in kpi_schema(registry)."""
    valid_pickup = F.coalesce(F.col("pickup_datetime").rlike(_PICKUP_DATETIME), F.lit(False))
    # A source column the input lacks altogether counts as 0 on every trip, as an absent value does.
    columns = [
        F.col(c) if c in trips.columns else F.lit(None).cast(StringType()).alias(c)
        for c in trip_schema(registry).fieldNames()
    ]
    checked = trips.select(*columns).withColumn(
        "pickup_datetime",
        F.when(valid_pickup, F.col("pickup_datetime")).otherwise(
            F.raise_error(
                F.concat(
                    F.lit("completed trip with a malformed pickup_datetime: trip_id="),
                    F.coalesce(F.col("trip_id"), F.lit("<null>")),
                )
            )
        ),
    )
    sources = registry.sources
    keep = tuple(any(f.aggregation == "median" and f.source == s for f in registry.fields) for s in sources)
    per_trip = checked.rdd.map(partial(_trip_values, sources=sources)).reduceByKey(_earlier)
    per_day = per_trip.map(lambda kv: (kv[1][0][:10], _start(kv[1][2], keep))).reduceByKey(_merge)
    # A handful of rows (one per day): finished on the driver.
    rows = sorted(kpi_row(registry, day, totals) for day, totals in per_day.collect())
    return trips.sparkSession.createDataFrame(rows, kpi_schema(registry))
