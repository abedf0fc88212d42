import { FUNCTION_ENV as ENV } from "@trip-pipeline/core/platform/config-names";
import { DEFAULT_KPI_TTL_DAYS, DEFAULT_RAW_RETENTION_DAYS } from "@trip-pipeline/core/platform/pipeline-spec";
import { describe, expect, test } from "vitest";
import {
  apiDailyConfig,
  apiLiveConfig,
  consumerConfig,
  kpiAggregatorConfig,
  parseConfig,
  reconcileKpisConfig,
  startMetricsJobConfig,
} from "../src/config.js";
import { lazily } from "../src/environment.js";

describe("each function's configuration, from its environment", () => {
  test("a consumer: the table, the bucket by name or the local folder (which wins), RAW retention defaulting to the pipeline spec's", () => {
    expect(parseConfig("matcher", consumerConfig, { [ENV.tripTable]: "T", [ENV.analyticsBucket]: "b" })).toEqual({
      tableName: "T",
      bucket: { name: "b" },
      rawRetentionDays: DEFAULT_RAW_RETENTION_DAYS,
    });
    expect(
      parseConfig("matcher", consumerConfig, {
        [ENV.tripTable]: "T",
        [ENV.analyticsBucket]: "b",
        [ENV.localBucketDir]: "/tmp/b",
        [ENV.rawRetentionDays]: "30",
      }),
    ).toEqual({
      tableName: "T",
      bucket: { folder: "/tmp/b" },
      rawRetentionDays: 30,
    });
  });

  test("a missing or bad variable fails the function with its name, every problem and the value given", () => {
    expect(() => parseConfig("matcher", consumerConfig, { [ENV.rawRetentionDays]: "0" })).toThrow(
      'matcher: TRIP_TABLE_NAME is not set; RAW_RETENTION_DAYS must be a positive whole number of days, got "0"',
    );
    expect(() => parseConfig("tripBegin", consumerConfig, { [ENV.tripTable]: "T" })).toThrow(
      "tripBegin: ANALYTICS_BUCKET_NAME is not set",
    );
    // Empty counts as unset, as a deployment tool may leave it.
    expect(() => parseConfig("apiLive", apiLiveConfig, { [ENV.tripTable]: "" })).toThrow(
      "apiLive: TRIP_TABLE_NAME is not set",
    );
    for (const bad of ["-1", "1.5", "7d", "x"])
      expect(() =>
        parseConfig("kpiAggregator", kpiAggregatorConfig, { [ENV.tripTable]: "T", [ENV.kpiTtlDays]: bad }),
      ).toThrow(`kpiAggregator: KPI_TTL_DAYS must be a positive whole number of days, got "${bad}"`);
  });

  test("the live KPI aggregator: the table and the KPI expiry, no bucket", () => {
    expect(parseConfig("kpiAggregator", kpiAggregatorConfig, { [ENV.tripTable]: "T" })).toEqual({
      tableName: "T",
      ttlDays: DEFAULT_KPI_TTL_DAYS,
    });
    expect(parseConfig("kpiAggregator", kpiAggregatorConfig, { [ENV.tripTable]: "T", [ENV.kpiTtlDays]: "90" })).toEqual(
      { tableName: "T", ttlDays: 90 },
    );
  });

  test("the nightly job's functions: the window has no default of theirs (the stack passes the deployed one)", () => {
    expect(
      parseConfig("startMetricsJob", startMetricsJobConfig, { [ENV.glueJobName]: "j", [ENV.daysWindow]: "5" }),
    ).toEqual({ jobName: "j", daysWindow: 5 });
    expect(() => parseConfig("startMetricsJob", startMetricsJobConfig, { [ENV.glueJobName]: "j" })).toThrow(
      "startMetricsJob: DAYS_WINDOW is not set",
    );
    expect(() => parseConfig("startMetricsJob", startMetricsJobConfig, {})).toThrow(
      "startMetricsJob: GLUE_JOB_NAME is not set; DAYS_WINDOW is not set",
    );
    expect(
      parseConfig("reconcileKpis", reconcileKpisConfig, {
        [ENV.tripTable]: "T",
        [ENV.analyticsBucket]: "b",
        [ENV.daysWindow]: "3",
      }),
    ).toEqual({ tableName: "T", bucket: { name: "b" }, daysWindow: 3 });
    expect(() =>
      parseConfig("reconcileKpis", reconcileKpisConfig, { [ENV.tripTable]: "T", [ENV.daysWindow]: "3" }),
    ).toThrow("reconcileKpis: ANALYTICS_BUCKET_NAME is not set");
  });

  test("the daily API reads the bucket and the currency only", () => {
    expect(parseConfig("apiDaily", apiDailyConfig, { [ENV.analyticsBucket]: "b", [ENV.tripTable]: "ignored" })).toEqual(
      { bucket: { name: "b" }, currency: "USD" },
    );
    expect(parseConfig("apiDaily", apiDailyConfig, { [ENV.analyticsBucket]: "b", [ENV.currency]: "EUR" })).toEqual({
      bucket: { name: "b" },
      currency: "EUR",
    });
    expect(() => parseConfig("apiDaily", apiDailyConfig, {})).toThrow("apiDaily: ANALYTICS_BUCKET_NAME is not set");
  });
});

describe("lazily", () => {
  test("dependencies are built once; a failed build (a missing variable) is retried on the next invocation", async () => {
    let builds = 0;
    const deps = lazily(async () => {
      builds += 1;
      if (builds === 1) throw new Error("matcher: TRIP_TABLE_NAME is not set");
      return { builds } as never;
    });
    await expect(deps()).rejects.toThrow("TRIP_TABLE_NAME is not set");
    expect(await deps()).toEqual({ builds: 2 });
    expect(await deps()).toEqual({ builds: 2 });
    expect(builds).toBe(2);
  });
});
