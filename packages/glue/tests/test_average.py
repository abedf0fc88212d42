"""half_up: the output rounding of every KPI (means above all, which Spark's decimals cannot compute
exactly), against Python's own HALF_UP rounding of the quotient at a precision far beyond any fare."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from trip_metrics.transform import half_up


def average_half_up(total: Decimal, count: int) -> str:
    return half_up(Fraction(total) / count, 2)


def _decimal_half_up(total: Decimal, count: int) -> str:
    with localcontext() as context:
        context.prec = 200
        return format((total / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def test_agrees_with_decimal_half_up_over_the_fare_domain() -> None:
    rng = random.Random(16)
    for _ in range(3000):
        # Totals of DECIMAL(38, 18), small and large, over one to a million trips.
        total = Decimal(rng.randrange(0, 10 ** rng.randrange(1, 39))).scaleb(-18)
        count = rng.choice([1, 2, 3, 7, rng.randrange(1, 1_000_001)])
        assert average_half_up(total, count) == _decimal_half_up(total, count)


@pytest.mark.parametrize("count", [1, 2, 3, 201, 999_999])
def test_an_exact_half_cent_rounds_up_and_just_below_rounds_down(count: int) -> None:
    assert average_half_up(Decimal("12.345") * count, count) == "12.35"
    assert average_half_up(Decimal("12.344999999999999999") * count, count) == "12.34"


def test_a_negative_total_keeps_its_sign() -> None:
    assert average_half_up(Decimal("-7"), 2) == "-3.50"


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Fraction(1, 2), 0, "1"),
        (Fraction(-1, 2), 0, "-1"),
        (Fraction(-1, 3), 0, "-0"),
        (Fraction(49, 100), 0, "0"),
        (Fraction(61, 60), 2, "1.02"),
        (Fraction(123, 60), 2, "2.05"),
        (Fraction(1, 60), 2, "0.02"),
        (Fraction(5, 1000), 3, "0.005"),
        (Fraction(-1, 1000), 2, "-0.00"),
        (Fraction(-5, 1000), 2, "-0.01"),
        (Fraction(12345, 10), 1, "1234.5"),
    ],
)
def test_half_up_at_any_places(value: Fraction, places: int, text: str) -> None:
    assert half_up(value, places) == text
