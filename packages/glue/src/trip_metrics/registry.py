"""The KPI registry (packages/core/golden/contract.json `kpis`): every field of a day's KPI row.

The Glue job receives it as the --KPI_REGISTRY argument (the stack writes it from the contract);
tests and local runs read the contract file. Validated here, so a malformed registry fails at load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROW_KEY = "pickup_date"
AGGREGATIONS = ("sum", "count", "max", "min", "mean", "median")
DERIVED_SOURCES = ("duration_seconds",)


@dataclass(frozen=True)
class KpiType:
    places: int
    source_units: int
    athena: str


@dataclass(frozen=True)
class KpiField:
    name: str
    type: str
    aggregation: str
    source: str
    live: bool
    absent_before: bool


@dataclass(frozen=True)
class Registry:
    types: dict[str, KpiType]
    fields: tuple[KpiField, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Each source column whose values a field aggregates (a count reads none), once, in registry order."""
        return tuple(dict.fromkeys(field.source for field in self.fields if field.aggregation != "count"))


def parse_registry(kpis: dict[str, Any]) -> Registry:
    types = {
        name: KpiType(int(t["places"]), int(t["source_units"]), str(t["athena"])) for name, t in kpis["types"].items()
    }
    fields = tuple(
        KpiField(f["name"], f["type"], f["aggregation"], f["source"], bool(f["live"]), bool(f["absent_before"]))
        for f in kpis["fields"]
    )
    for field in fields:
        if field.type not in types or field.aggregation not in AGGREGATIONS:
            raise ValueError(f"KPI registry: {field.name} has an unknown type or aggregation")
    if len({f.name for f in fields} | {ROW_KEY}) != len(fields) + 1:
        raise ValueError("KPI registry: a field name is used twice")
    return Registry(types, fields)


def registry_from_json(text: str) -> Registry:
    """The registry from the contract's `kpis` object as JSON text (the job argument)."""
    return parse_registry(json.loads(text))


def contract_registry(contract_path: Path) -> Registry:
    """The registry of a contract file (tests and local runs; the deployed job gets the argument)."""
    return parse_registry(json.loads(contract_path.read_text(encoding="utf-8"))["kpis"])
