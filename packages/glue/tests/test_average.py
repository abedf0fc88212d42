"""average_half_up: the one KPI that Spark's decimals cannot compute exactly, against Python's own
HALF_UP rounding of the quotient at a precision far beyond any fare."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest

from trip_metrics.transform import average_half_up


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
