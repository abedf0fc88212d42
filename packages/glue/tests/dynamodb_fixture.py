"""Builds a TripData table with the sparse byPickupDay GSI in a DynamoDB-compatible endpoint."""

from __future__ import annotations

from typing import Any

import boto3

REGION = "eu-north-1"


def client(endpoint: str) -> Any:
    return boto3.session.Session().client("dynamodb", region_name=REGION, endpoint_url=endpoint)


def create_trip_table(endpoint: str, table_name: str) -> None:
    client(endpoint).create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("trip_id", "sort_key", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "trip_id", "KeyType": "HASH"}, {"AttributeName": "sort_key", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byPickupDay",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def completed_item(trip_id: str, pickup: str, dropoff: str, fare: str, shard: int, **numbers: str) -> dict[str, Any]:
    """A completed trip's item; `numbers` are optional numeric columns (tip_amount, trip_distance, ...)."""
    return {
        **{name: {"N": value} for name, value in numbers.items()},
        "trip_id": {"S": trip_id},
        "sort_key": {"S": f"COMPLETED#{pickup}"},
        "pickup_datetime": {"S": pickup},
        "dropoff_datetime": {"S": dropoff},
        "fare_amount": {"N": fare},
        "pickup_date": {"S": pickup[:10]},
        "trip_status": {"S": "completed"},
        "gsi1pk": {"S": f"DAY#{pickup[:10]}#{shard:02d}"},
        "gsi1sk": {"S": f"{pickup}#{trip_id}"},
    }


def raw_item(trip_id: str, pickup: str, fare: str) -> dict[str, Any]:
    """A raw ingestion record: no gsi1pk, so it never appears in the GSI."""
    return {
        "trip_id": {"S": trip_id},
        "sort_key": {"S": f"RAW#{pickup}"},
        "pickup_datetime": {"S": pickup},
        "fare_amount": {"N": fare},
        "pickup_date": {"S": pickup[:10]},
        "trip_status": {"S": "raw"},
    }


def put_items(endpoint: str, table_name: str, items: list[dict[str, Any]]) -> None:
    dynamodb = client(endpoint)
    for item in items:
        dynamodb.put_item(TableName=table_name, Item=item)
