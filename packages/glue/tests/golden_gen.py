"""Generator (and oracle) for packages/core/golden/kpi-cases.json.

The golden file is shared with the TypeScript vitest suite, so its expectations are
computed here with Python's ``decimal`` module only, independently of the Spark job, for
every field of the contract's KPI registry, by the aggregation the registry names: sums are
exact (an Inexact trap proves it) and every value is rounded HALF-UP to its type's places
once, at output, by integer division with remainder, so an exact quotient is never rounded
at an intermediate precision (no double rounding).

Regenerate with:  python packages/glue/tests/golden_gen.py
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

GOLDEN_PATH = Path(__file__).resolve().parents[2] / "core" / "golden" / "kpi-cases.json"

# Wide enough for every intermediate value of the contract's fare domain (1E-130 .. <1E126);
# any rounding at all raises Inexact.
_EXACT = Context(prec=600, rounding=ROUND_HALF_UP, traps=[Inexact, InvalidOperation])
CONTRACT_PATH = GOLDEN_PATH.parent / "contract.json"
REGISTRY: dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))["kpis"]

Trip = dict[str, str]


def trip(trip_id: str, pickup: str, dropoff: str, fare: str, **columns: str) -> Trip:
    """A completed trip; `columns` are optional ones (tip_amount, trip_distance, ...), absent counts as 0."""
    return {"trip_id": trip_id, "pickup_datetime": pickup, "dropoff_datetime": dropoff, "fare_amount": fare, **columns}


def day_trips(prefix: str, day: str, fares: list[str]) -> list[Trip]:
    """Trips on one day, one every 4 minutes from 06:00, each 3 minutes long."""

    def clock(minute: int) -> str:
        assert minute < 24 * 60, "day_trips keeps every trip inside its day"
        return f"{day} {minute // 60:02d}:{minute % 60:02d}:00"

    return [trip(f"{prefix}-{i + 1}", clock(360 + 4 * i), clock(363 + 4 * i), fare) for i, fare in enumerate(fares)]


def _half_up(value: Decimal, divisor: int, places: int) -> str:
    """value / divisor rounded HALF-UP to `places` decimals, from the exact quotient."""
    with localcontext(_EXACT):
        units, remainder = divmod(value.scaleb(places), Decimal(divisor))
        if 2 * remainder >= divisor:
            units += 1
        return format(units.scaleb(-places), "f")


def _value(t: Trip, source: str) -> Decimal:
    if source == "duration_seconds":
        pickup, dropoff = (
            datetime.strptime(t[c], "%Y-%m-%d %H:%M:%S") for c in ("pickup_datetime", "dropoff_datetime")
        )
        return Decimal(int((dropoff - pickup).total_seconds()))
    return Decimal(t.get(source) or 0)


def one_per_trip(trips: list[Trip]) -> list[Trip]:
    """The contract's duplicate rule: per trip_id the earliest pickup (a tie keeps the smaller fare)."""
    kept: dict[str, Trip] = {}
    for t in trips:
        k = kept.get(t["trip_id"])
        if k is None or (t["pickup_datetime"], Decimal(t["fare_amount"])) < (
            k["pickup_datetime"],
            Decimal(k["fare_amount"]),
        ):
            kept[t["trip_id"]] = t
    return list(kept.values())


def _field(field: dict[str, Any], trips: list[Trip]) -> Any:
    kind = REGISTRY["types"][field["type"]]
    aggregation = field["aggregation"]
    if aggregation == "count":
        return len(trips)
    values = sorted(_value(t, field["source"]) for t in trips)
    if aggregation == "median":
        middle = len(values) // 2
        total, divisor = (values[middle], 1) if len(values) % 2 else (values[middle - 1] + values[middle], 2)
    else:
        total, divisor = {
            "sum": (sum(values, Decimal(0)), 1),
            "mean": (sum(values, Decimal(0)), len(values)),
            "max": (values[-1], 1),
            "min": (values[0], 1),
        }[aggregation]
    text = _half_up(total, divisor * kind["source_units"], kind["places"])
    return int(text) if field["type"] == "count" else text


def expected_kpis(trips: list[Trip]) -> list[dict[str, Any]]:
    """The oracle: daily KPIs exactly as the registry defines them."""
    by_day: dict[str, list[Trip]] = defaultdict(list)
    for t in one_per_trip(trips):
        by_day[t["pickup_datetime"][:10]].append(t)
    with localcontext(_EXACT):
        return [
            {"pickup_date": day, **{f["name"]: _field(f, by_day[day]) for f in REGISTRY["fields"]}}
            for day in sorted(by_day)
        ]


def case_inputs() -> list[tuple[str, list[Trip]]]:
    """Named inputs; each comment says what the case traps."""
    return [
        # The spec's example: one trip, 14-decimal fare.
        ("single_trip", [trip("t1", "2024-05-25 13:19:00", "2024-05-25 14:05:00", "40.09620692463166")]),
        # Exact .xx5 ties round up; binary floats hold 2.675 and 1.005 just below the tie.
        (
            "half_up_at_exactly_half_cent",
            day_trips("h", "2024-05-25", ["2.675"]) + day_trips("i", "2024-05-26", ["1.005", "0.000"]),
        ),
        # 0.1 + 0.2 is 0.30000000000000004 in floats; 0.1 + 0.7 + 0.005 sums to 0.8049999999999999
        # in floats (-> 0.80) while the exact total 0.805 rounds half-up to 0.81.
        (
            "float_trap_point_one_plus_point_two",
            day_trips("f", "2024-05-25", ["0.1", "0.2"]) + day_trips("g", "2024-05-26", ["0.1", "0.7", "0.005"]),
        ),
        # Real-looking fares with 14-15 decimals: the total must keep every digit.
        (
            "fifteen_decimal_fares",
            day_trips(
                "r",
                "2024-05-25",
                [
                    "40.09620692463166",
                    "17.123456789012345",
                    "23.987654321098765",
                    "8.000000000000001",
                    "12.499999999999999",
                ],
            ),
        ),
        # Three trips: quotients with repeating expansions (0.0133.. -> 0.01, 0.0166.. -> 0.02).
        (
            "average_three_trips_repeating_expansion",
            day_trips("a", "2024-05-25", ["0.01", "0.01", "0.02"])
            + day_trips("b", "2024-05-26", ["0.02", "0.02", "0.01"]),
        ),
        # 6.015 / 3 = 2.005 exactly: a tie that appears only after the division.
        ("average_tie_after_division", day_trips("d", "2024-05-25", ["1.005", "2.00", "3.01"])),
        # 201 trips, total 2481.344999999999999999: the exact average 12.34499999999999999999502..
        # rounds to 12.34, but rounding the quotient to 20 decimals (or 20 significant digits,
        # or Spark's 18-digit decimal division) first gives 12.345 and then 12.35.
        (
            "average_just_below_half_cent_no_double_rounding",
            day_trips("n", "2024-05-25", ["12.345"] * 200 + ["12.344999999999999999"]),
        ),
        # A zero fare in several spellings.
        ("zero_fare", day_trips("z", "2024-05-25", ["0", "0.00", "0.000000000000000"])),
        # A trip crossing midnight counts on its pickup date.
        (
            "cross_midnight_counts_on_pickup_date",
            [
                trip("m1", "2024-05-25 23:50:00", "2024-05-26 00:20:00", "30.00"),
                trip("m2", "2024-05-25 10:00:00", "2024-05-25 10:30:00", "10.00"),
                trip("m3", "2024-05-26 00:05:00", "2024-05-26 00:25:00", "7.50"),
            ],
        ),
        # Leap day between its neighbours.
        (
            "leap_day",
            day_trips("p", "2024-02-29", ["12.345", "7.655"])
            + day_trips("q", "2024-02-28", ["5.00"])
            + day_trips("s", "2024-03-01", ["1.111"]),
        ),
        # Days interleaved in input order; output is sorted by pickup_date.
        (
            "several_days_interleaved",
            [
                trip("v1", "2024-05-27 09:00:00", "2024-05-27 09:10:00", "11.115"),
                trip("v2", "2024-05-25 09:00:00", "2024-05-25 09:10:00", "20.50"),
                trip("v3", "2024-05-26 09:00:00", "2024-05-26 09:10:00", "3.333"),
                trip("v4", "2024-05-25 18:00:00", "2024-05-25 18:40:00", "4.125"),
                trip("v5", "2024-05-27 07:00:00", "2024-05-27 07:10:00", "0.004"),
                trip("v6", "2024-05-26 21:00:00", "2024-05-26 21:30:00", "3.333"),
                trip("v7", "2024-05-25 12:00:00", "2024-05-25 12:05:00", "9.999"),
            ],
        ),
        # Large values: carries ripple through every digit.
        (
            "large_values",
            day_trips("l", "2024-05-25", ["999999999.999"] * 3)
            + day_trips("k", "2024-05-26", ["999999999.995", "999999999.994"]),
        ),
        # No completed trips at all: no rows.
        ("no_trips", []),
        # Two completions of one trip (a re-match in flight, or a lost delete) and a replayed row:
        # one per trip_id, the earliest pickup, even when it is on another day and comes last.
        (
            "duplicate_trip_ids_earliest_pickup",
            [
                trip("d1", "2024-05-26 09:00:00", "2024-05-26 09:30:00", "100.00"),
                trip("d2", "2024-05-26 10:00:00", "2024-05-26 10:10:00", "3.00"),
                trip("d1", "2024-05-25 23:00:00", "2024-05-25 23:40:00", "7.005"),
                trip("d2", "2024-05-26 10:00:00", "2024-05-26 10:10:00", "3.00"),
                trip("d3", "2024-05-26 11:00:00", "2024-05-26 11:10:00", "5"),
                trip("d3", "2024-05-26 10:59:59", "2024-05-26 11:10:00", "4.995"),
            ],
        ),
        # Tips and distances: absent counts as 0, sums are exact and round half-up once (0.005 ties).
        (
            "tips_and_distances",
            [
                trip(
                    "u1",
                    "2024-05-25 08:00:00",
                    "2024-05-25 08:10:00",
                    "10.00",
                    tip_amount="1.005",
                    trip_distance="2.335",
                ),
                trip(
                    "u2", "2024-05-25 09:00:00", "2024-05-25 09:20:00", "12.00", tip_amount="0.1", trip_distance="0.1"
                ),
                trip("u3", "2024-05-25 10:00:00", "2024-05-25 10:05:00", "7.50"),
                trip(
                    "u4",
                    "2024-05-26 10:00:00",
                    "2024-05-26 10:05:00",
                    "7.50",
                    tip_amount="0",
                    trip_distance="0.004999999999999999",
                ),
            ],
        ),
        # Durations are whole seconds: 61 s and 62 s average 1.025 min exactly (a tie: 1.03;
        # binary floats give 1.0249999.. and 1.02); 1 s is 0.0166.. min (0.02); a trip across
        # midnight lasts into the next day; a zero-length trip lasts 0.
        (
            "durations_in_minutes",
            [
                trip("w1", "2024-05-25 08:00:00", "2024-05-25 08:01:01", "5"),
                trip("w2", "2024-05-25 09:00:00", "2024-05-25 09:01:02", "5"),
                trip("w3", "2024-05-26 09:00:00", "2024-05-26 09:00:01", "5"),
                trip("w4", "2024-05-27 23:59:30", "2024-05-28 00:00:30", "5"),
                trip("w5", "2024-05-27 12:00:00", "2024-05-27 12:00:00", "5"),
            ],
        ),
        # Medians: an odd count takes the middle fare, whatever the input order; an even count the
        # mean of the two middle ones, a half-cent tie rounding up (1.00 and 1.01: 1.005 -> 1.01).
        (
            "median_odd_and_even",
            day_trips("o", "2024-05-25", ["9.00", "1.50", "3.333", "100", "2.00"])
            + day_trips("e", "2024-05-26", ["1.01", "50", "1.00", "0.5"]),
        ),
        # A trip's duplicates differ in tip, distance and length: the kept (earliest) one counts for all.
        (
            "duplicates_keep_one_trips_columns",
            [
                trip("k1", "2024-05-25 10:00:00", "2024-05-25 10:30:00", "20", tip_amount="5", trip_distance="9"),
                trip("k1", "2024-05-25 09:59:00", "2024-05-25 10:02:00", "20", tip_amount="1", trip_distance="1.5"),
                trip("k2", "2024-05-25 11:00:00", "2024-05-25 11:10:00", "4", tip_amount="0.25"),
            ],
        ),
        # Each edge of the fare domain DynamoDB stores exactly (contract.json): beyond DECIMAL(38,18).
        (
            "fare_domain_edges",
            day_trips("e", "2024-05-25", [f"0.{'0' * 129}1", "0", "1.0000000000000000001"])
            + day_trips("g", "2024-05-26", ["9" * 38 + "0" * 88, "9" * 38 + "0" * 88, "0." + "0" * 92 + "1" * 38])
            + day_trips("j", "2024-05-27", ["123456789012345678901.5", "0.12345678901234567890123456789012345678"]),
        ),
    ]


def build_golden() -> dict[str, Any]:
    return {"cases": [{"name": n, "trips": t, "expected": expected_kpis(t)} for n, t in case_inputs()]}


def render(golden: dict[str, Any]) -> str:
    """JSON with one trip / expected row per line, so diffs stay readable."""

    def rows(items: list[dict[str, Any]]) -> str:
        if not items:
            return "[]"
        return "[\n" + ",\n".join("        " + json.dumps(i) for i in items) + "\n      ]"

    cases = [
        "    {\n"
        f'      "name": {json.dumps(c["name"])},\n'
        f'      "trips": {rows(c["trips"])},\n'
        f'      "expected": {rows(c["expected"])}\n'
        "    }"
        for c in golden["cases"]
    ]
    return '{\n  "cases": [\n' + ",\n".join(cases) + "\n  ]\n}\n"


if __name__ == "__main__":
    GOLDEN_PATH.write_text(render(build_golden()), encoding="utf-8")
    print(f"wrote {GOLDEN_PATH}")
