import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetJobRunCommand, GlueClient } from "@aws-sdk/client-glue";
import type { CompletedTrip } from "@trip-pipeline/core/domain/trip";
import { kpiLine, metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { readDailyKpis } from "@trip-pipeline/core/nightly/kpi-rows-reader";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { createKpiAggregatorHandler } from "@trip-pipeline/functions/kpi-aggregator";
import { reconcileAfterRun } from "@trip-pipeline/functions/reconcile-kpis";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { captureLogger } from "../../../core/test/support/logs.js";
import { runLocalKpiJob } from "../../src/kpi-job.js";
import { type KpiWorld, kpiWorld } from "./kpi-support.js";
import { context } from "./support.js";

const glueMock = mockClient(GlueClient);
const glue = new GlueClient({ region: "eu-north-1" });
let world: KpiWorld;
let dir: string;
let metrics: FolderBlobStore;
beforeEach(async () => {
  glueMock.reset();
  world = await kpiWorld(2);
  dir = await mkdtemp(join(tmpdir(), "reconcile-"));
  metrics = new FolderBlobStore(dir);
});
afterEach(async () => {
  await world.close();
  await rm(dir, { recursive: true, force: true });
});

const trip = (trip_id: string, pickup: string, fare_amount: string): CompletedTrip => ({
  trip_id,
  pickup_datetime: pickup,
  dropoff_datetime: pickup,
  estimated_fare_amount: "1",
  fare_amount,
});
/** The live sums of trips without tips, distance or length. */
const LIVE_ZEROS = { total_tip: "0.00", total_distance: "0.00", average_duration_minutes: "0.00" };
const EVENT = { detail: { jobName: "prod-trip-pipeline-GenerateTripMetrics", jobRunId: "jr_1", state: "SUCCEEDED" } };

/** Applies the stream so far; `drop` loses one record (as a DLQ would). */
async function aggregate(drop?: (trip: string) => boolean) {
  const handler = createKpiAggregatorHandler(world.deps);
  for (const { shardId, records } of world.takeChanges()) {
    const kept = records.filter((r) => !drop?.(r.dynamodb!.Keys!.trip_id!.S!));
    if (kept.length > 0) await handler({ Records: kept, shardId }, context());
  }
}

async function reconcile(startedOn: Date) {
  glueMock.on(GetJobRunCommand).resolves({
    JobRun: { Id: "jr_1", StartedOn: startedOn, Arguments: { "--END_DATE": "2024-02-29", "--DAYS_WINDOW": "3" } },
  });
  const { logger, lines } = captureLogger();
  const result = await reconcileAfterRun(glue, EVENT, 3, {
    db: world.store.db,
    tableName: world.tableName,
    metrics,
    logger,
    now: new Date(),
  });
  return { result, lines };
}

describe("reconciliation after the nightly run", () => {
  test("live equal to nightly on every day of the run's window: KpiDrift 0, published as an embedded metric", async () => {
    for (const [i, day] of ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"].entries()) {
      await world.store.createCompleted(trip(`a${i}`, `${day} 10:00:00`, "10.005"));
      await world.store.createCompleted(trip(`b${i}`, `${day} 23:59:59`, `${i}.5`));
    }
    await aggregate();
    await runLocalKpiJob(world.store.db, world.tableName, metrics);
    const { result, lines } = await reconcile(new Date(Date.now() + 60_000));
    expect(result).toMatchObject({ drift: 0, differing: [], unsettled: [] });
    // The window is 02-27..02-29 (END_DATE and the 2 days before); 03-01 is outside it.
    expect(result.live.map((k) => k.pickup_date)).toEqual(["2024-02-27", "2024-02-28", "2024-02-29"]);
    const metric = lines.find((line) => line.msg === "live KPIs reconciled with the nightly run")!;
    expect(metric).toMatchObject({
      KpiDrift: 0,
      KpiUnsettledDays: 0,
      window: { from: "2024-02-27", to: "2024-02-29" },
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: "TripPipeline",
            Dimensions: [[]],
            Metrics: [
              { Name: "KpiDrift", Unit: "Count" },
              { Name: "KpiUnsettledDays", Unit: "Count" },
            ],
          },
        ],
      },
    });
  });

  test("a lost stream record is drift; a day that moved after the run started is unsettled, not drift", async () => {
    await world.store.createCompleted(trip("kept", "2024-02-28 10:00:00", "5"));
    await world.store.createCompleted(trip("lost", "2024-02-28 11:00:00", "7"));
    await world.store.createCompleted(trip("only", "2024-02-29 11:00:00", "7"));
    await aggregate((id) => id === "lost");
    await runLocalKpiJob(world.store.db, world.tableName, metrics);

    const after = await reconcile(new Date(Date.now() + 60_000));
    expect(after.result.drift).toBe(1);
    expect(after.result.differing).toMatchObject([
      {
        pickup_date: "2024-02-28",
        live: {
          ...LIVE_ZEROS,
          pickup_date: "2024-02-28",
          total_fare: "5.00",
          trip_count: 1,
          average_fare: "5.00",
          max_fare: "5.00",
          min_fare: "5.00",
          settling: false,
        },
        nightly: {
          ...LIVE_ZEROS,
          pickup_date: "2024-02-28",
          total_fare: "12.00",
          trip_count: 2,
          average_fare: "6.00",
          max_fare: "7.00",
          min_fare: "5.00",
          median_fare: "6.00",
        },
      },
    ]);
    expect(after.lines.some((line) => line.level === "error" && line.pickup_date === "2024-02-28")).toBe(true);

    // The run started before the day's last live change: a late completion, compared next night.
    const before = await reconcile(new Date(Date.now() - 120_000));
    expect(before.result).toMatchObject({ drift: 0, unsettled: ["2024-02-28"] });
  });

  test("every live field is compared: a tip the live path lost is drift, though fares and counts agree", async () => {
    await world.store.createCompleted({ ...trip("tipped", "2024-02-28 10:00:00", "5"), tip_amount: "2" });
    await aggregate();
    await runLocalKpiJob(world.store.db, world.tableName, metrics);
    // The nightly row as a job without this trip's tip would have written it.
    const [day] = await readDailyKpis(metrics, "2024-02-28", "2024-02-28");
    await metrics.put(metricsKey("2024-02-28"), `${kpiLine({ ...day!, total_tip: "0.00" })}\n`);
    const { result } = await reconcile(new Date(Date.now() + 60_000));
    expect(result.drift).toBe(1);
    expect(result.differing[0]).toMatchObject({
      pickup_date: "2024-02-28",
      live: { total_tip: "2.00" },
      nightly: { total_tip: "0.00" },
    });
    // A nightly row written before total_tip existed has nothing to compare it with: no drift.
    await metrics.put(metricsKey("2024-02-28"), `${kpiLine({ ...day!, total_tip: null })}\n`);
    expect((await reconcile(new Date(Date.now() + 60_000))).result.drift).toBe(0);
  });

  test("only successful runs are reconciled", async () => {
    await expect(
      reconcileAfterRun(glue, { detail: { ...EVENT.detail, state: "FAILED" } }, 3, {
        db: world.store.db,
        tableName: world.tableName,
        metrics,
        logger: captureLogger().logger,
        now: new Date(),
      }),
    ).rejects.toThrow(/FAILED/);
  });
});
