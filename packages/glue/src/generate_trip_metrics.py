"""AWS Glue 5.0 entrypoint of the daily trip KPI job.

The only module that imports awsglue, and only inside main(): argument handling and the
whole pipeline run (and are tested) on plain PySpark.

Arguments: --TABLE_NAME, --BUCKET, --GSI_NAME, --GSI_SHARDS, --METRICS_PREFIX, --DAYS_WINDOW
--KPI_REGISTRY (the contract's KPI registry as JSON)
(all required: the stack passes each from the definitions the rest of the pipeline uses, so the job
keeps no second copy of them); --END_DATE (YYYY-MM-DD, default: yesterday UTC), --REGION
(default: the driver's AWS region), --DYNAMODB_ENDPOINT (tests, local runs).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from trip_metrics.reader import GsiSource
from trip_metrics.registry import Registry, registry_from_json
from trip_metrics.window import default_end_day, parse_day

REQUIRED_ARGS = (
    "JOB_NAME",
    "TABLE_NAME",
    "BUCKET",
    "GSI_NAME",
    "GSI_SHARDS",
    "METRICS_PREFIX",
    "DAYS_WINDOW",
    "KPI_REGISTRY",
)
OPTIONAL_ARGS: Mapping[str, str | None] = {
    "END_DATE": None,
    "REGION": None,
    "DYNAMODB_ENDPOINT": None,
}


@dataclass(frozen=True)
class JobConfig:
    job_name: str
    source: GsiSource
    output_uri: str
    end_day: date
    days_window: int
    registry: Registry


def present_optional_args(argv: Sequence[str]) -> list[str]:
    """Optional names given in argv: getResolvedOptions fails on names that are absent."""
    given = {arg[2:].split("=", 1)[0] for arg in argv if arg.startswith("--")}
    return [name for name in OPTIONAL_ARGS if name in given]


def _positive_int(options: Mapping[str, str], name: str) -> int:
    text = options[name]
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--{name} must be a positive integer, got {text!r}")
    return int(text)


def output_uri(bucket: str, prefix: str) -> str:
    """s3://BUCKET/PREFIX/, or BUCKET itself when it is already a URI (file:// in tests)."""
    prefix = prefix.strip("/")
    if not prefix:
        raise ValueError("--METRICS_PREFIX must not be empty: the job owns a folder, not the bucket")
    base = bucket.rstrip("/") if "://" in bucket else f"s3://{bucket}"
    return f"{base}/{prefix}/"


def build_job_config(resolved: Mapping[str, str], now: datetime, default_region: str | None) -> JobConfig:
    """Defaults and validation on top of getResolvedOptions' output (a plain dict)."""
    missing = [name for name in REQUIRED_ARGS if not resolved.get(name)]
    if missing:
        raise ValueError(f"missing required arguments: {', '.join('--' + m for m in missing)}")
    options = {name: resolved.get(name) or default for name, default in OPTIONAL_ARGS.items()}
    options.update({name: resolved[name] for name in REQUIRED_ARGS})
    source = GsiSource(
        table_name=resolved["TABLE_NAME"],
        index_name=options["GSI_NAME"],
        shards=_positive_int(options, "GSI_SHARDS"),
        region_name=options["REGION"] or default_region,
        endpoint_url=options["DYNAMODB_ENDPOINT"],
    )
    if source.shards > 100:
        raise ValueError(f"--GSI_SHARDS must be at most 100 (two-digit shard suffix), got {source.shards}")
    end_date = options["END_DATE"]
    return JobConfig(
        job_name=resolved["JOB_NAME"],
        source=source,
        output_uri=output_uri(resolved["BUCKET"], options["METRICS_PREFIX"]),
        end_day=parse_day(end_date) if end_date else default_end_day(now),
        days_window=_positive_int(options, "DAYS_WINDOW"),
        registry=registry_from_json(resolved["KPI_REGISTRY"]),
    )


def main(argv: Sequence[str]) -> None:
    import boto3
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext
    from trip_metrics.pipeline import run_daily_kpis

    resolved = getResolvedOptions(list(argv), [*REQUIRED_ARGS, *present_optional_args(argv)])
    config = build_job_config(resolved, datetime.now(UTC), boto3.session.Session().region_name)

    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(config.job_name, resolved)
    summary = run_daily_kpis(
        glue_context.spark_session,
        config.source,
        config.end_day,
        config.days_window,
        config.output_uri,
        config.registry,
    )
    print(f"daily KPIs written for {summary.written_days}, cleared {summary.cleared_days} -> {config.output_uri}")
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
