"""The Glue entrypoint's argument handling, with awsglue absent."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, date, datetime

import generate_trip_metrics as entry
import pytest
from golden_gen import CONTRACT_PATH, REGISTRY
from trip_metrics.registry import contract_registry

NOW = datetime(2024, 3, 1, 0, 15, tzinfo=UTC)
BASE = {
    "JOB_NAME": "daily-kpis",
    "TABLE_NAME": "TripData",
    "BUCKET": "trip-metrics-bucket",
    "GSI_NAME": "byPickupDay",
    "GSI_SHARDS": "16",
    "METRICS_PREFIX": "metrics/",
    "DAYS_WINDOW": "3",
    "KPI_REGISTRY": json.dumps(REGISTRY),
}


def test_importing_the_entrypoint_does_not_need_awsglue() -> None:
    assert importlib.util.find_spec("awsglue") is None
    assert "awsglue" not in sys.modules


def test_main_needs_awsglue() -> None:
    with pytest.raises(ModuleNotFoundError, match="awsglue"):
        entry.main(["script.py", "--JOB_NAME", "x"])


def test_required_and_defaults() -> None:
    config = entry.build_job_config(BASE, NOW, default_region="eu-north-1")
    assert config.job_name == "daily-kpis"
    assert config.source == entry.GsiSource(
        table_name="TripData", index_name="byPickupDay", shards=16, region_name="eu-north-1", endpoint_url=None
    )
    assert config.output_uri == "s3://trip-metrics-bucket/metrics/"
    assert config.end_day == date(2024, 2, 29)  # yesterday in UTC, a leap day
    assert config.days_window == 3
    assert config.registry == contract_registry(CONTRACT_PATH)


def test_every_option_given() -> None:
    resolved = {
        **BASE,
        "GSI_NAME": "otherIndex",
        "GSI_SHARDS": "4",
        "METRICS_PREFIX": "/kpi/daily",
        "DAYS_WINDOW": "7",
        "END_DATE": "2024-05-25",
        "REGION": "eu-west-1",
        "DYNAMODB_ENDPOINT": "http://127.0.0.1:8000",
        "BUCKET": "file:///tmp/out/",
    }
    config = entry.build_job_config(resolved, NOW, default_region="eu-north-1")
    assert config.source == entry.GsiSource(
        table_name="TripData",
        index_name="otherIndex",
        shards=4,
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:8000",
    )
    assert config.output_uri == "file:///tmp/out/kpi/daily/"
    assert (config.end_day, config.days_window) == (date(2024, 5, 25), 7)


def test_present_optional_args_feeds_get_resolved_options() -> None:
    argv = [
        "script.py",
        "--JOB_NAME",
        "j",
        "--END_DATE",
        "2024-05-25",
        "--DAYS_WINDOW=2",
        "--job-bookmark-option",
        "job-bookmark-disable",
        "--REGION=eu-west-1",
        "--TABLE_NAME",
        "TripData",
    ]
    assert entry.present_optional_args(argv) == ["END_DATE", "REGION"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"TABLE_NAME": ""}, "--TABLE_NAME"),
        ({"GSI_NAME": ""}, "--GSI_NAME"),
        ({"GSI_SHARDS": ""}, "--GSI_SHARDS"),
        ({"METRICS_PREFIX": ""}, "--METRICS_PREFIX"),
        ({"DAYS_WINDOW": ""}, "--DAYS_WINDOW"),
        ({"BUCKET": ""}, "--BUCKET"),
        ({"KPI_REGISTRY": ""}, "--KPI_REGISTRY"),
        ({"GSI_SHARDS": "0"}, "GSI_SHARDS"),
        ({"GSI_SHARDS": "101"}, "GSI_SHARDS"),
        ({"GSI_SHARDS": "sixteen"}, "GSI_SHARDS"),
        ({"DAYS_WINDOW": "-3"}, "DAYS_WINDOW"),
        ({"END_DATE": "2024-02-30"}, "2024-02-30"),
        ({"METRICS_PREFIX": "/"}, "METRICS_PREFIX"),
    ],
)
def test_invalid_arguments(override: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        entry.build_job_config({**BASE, **override}, NOW, default_region=None)
