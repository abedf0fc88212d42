"""Completed trips of a day window, read from the sparse `byPickupDay` GSI.

Each (day, shard) GSI partition is one Query, run on the executors: only the window's
items are read (and billed), never the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

import boto3
from botocore.config import Config
from pyspark.sql import DataFrame, SparkSession

from trip_metrics.registry import Registry
from trip_metrics.transform import REQUIRED_COLUMNS, trip_schema

TripRow = tuple[str | None, ...]

# Bounded retries; "adaptive" also rate-limits this client after throttling responses.
_RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10, read_timeout=60)


@dataclass(frozen=True)
class GsiSource:
    """Where the completed trips live; picklable, so it travels to the executors."""

    table_name: str
    index_name: str = "byPickupDay"
    shards: int = 16
    region_name: str | None = None
    endpoint_url: str | None = None
    page_size: int | None = None  # items per Query page; None lets DynamoDB fill 1 MB pages


def gsi_partition_keys(days: Sequence[date], shards: int) -> list[str]:
    """`DAY#<YYYY-MM-DD>#<NN>` for every day and write shard 00..shards-1."""
    if not 1 <= shards <= 100:
        raise ValueError(f"shards must be 1..100 (two-digit suffix), got {shards}")
    return [f"DAY#{day.isoformat()}#{shard:02d}" for day in days for shard in range(shards)]


def dynamodb_client(source: GsiSource) -> Any:
    # One session per partition: boto3 sessions are not meant to be shared across threads.
    return boto3.session.Session().client(
        "dynamodb", region_name=source.region_name, endpoint_url=source.endpoint_url, config=_RETRY_CONFIG
    )


def _text(value: dict[str, str]) -> str:
    """A typed attribute as text: a string as is, DynamoDB's N as a plain decimal (exact: Decimal, never float)."""
    return value["S"] if "S" in value else format(Decimal(value["N"]), "f")


def trip_row(item: dict[str, dict[str, str]], columns: Sequence[str]) -> TripRow:
    """One low-level (typed JSON) GSI item as a trip_schema row: the required columns must be there, others may not."""
    missing = [c for c in REQUIRED_COLUMNS if c not in item]
    if missing:
        raise ValueError(f"completed trip item lacks {missing[0]!r}: {item.get('trip_id')}")
    return tuple(_text(item[c]) if c in item else None for c in columns)


def query_gsi_partition(
    client: Any, source: GsiSource, partition_key: str, columns: Sequence[str]
) -> Iterator[TripRow]:
    """All completed trips of one GSI partition, following LastEvaluatedKey pages."""
    names = {f"#a{i}": name for i, name in enumerate(columns)}
    request: dict[str, Any] = {
        "TableName": source.table_name,
        "IndexName": source.index_name,
        "KeyConditionExpression": "gsi1pk = :pk",
        # The GSI is sparse (completed items only); the filter guards against a stray key.
        "FilterExpression": "trip_status = :completed",
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":pk": {"S": partition_key}, ":completed": {"S": "completed"}},
    }
    if source.page_size is not None:
        request["PaginationConfig"] = {"PageSize": source.page_size}
    for page in client.get_paginator("query").paginate(**request):
        for item in page["Items"]:
            yield trip_row(item, columns)


def _query_partitions(source: GsiSource, columns: Sequence[str], partition_keys: Iterable[str]) -> Iterator[TripRow]:
    client = dynamodb_client(source)
    for key in partition_keys:
        yield from query_gsi_partition(client, source, key, columns)


def read_completed_trips(spark: SparkSession, source: GsiSource, days: Sequence[date], registry: Registry) -> DataFrame:
    """Completed trips picked up on `days`, in trip_schema(registry): the columns its fields read, numbers as exact text.

    Lazy: every action on the result queries DynamoDB again, so persist what you reuse.
    """
    schema = trip_schema(registry)
    keys = gsi_partition_keys(days, source.shards)
    queries = spark.sparkContext.parallelize(keys, numSlices=len(keys))
    return spark.createDataFrame(queries.mapPartitions(partial(_query_partitions, source, schema.fieldNames())), schema)
