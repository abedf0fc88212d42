import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { FolderBlobStore } from "../src/blob-store.js";
import { kpiLine, metricsKey } from "../src/local/kpi-job.js";
import { MetricsFormatError, readDailyKpis } from "../src/metrics-reader.js";

let folder: string;
let store: FolderBlobStore;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "metrics-"));
  store = new FolderBlobStore(folder);
});
afterEach(() => rm(folder, { recursive: true, force: true }));

const row = (pickup_date: string, total_fare = "10.00") => ({ pickup_date, total_fare, trip_count: 2, average_fare: "5.00", max_fare: "6.00", min_fare: "4.00" });

test("rows of the range's days only, across months, in date order", async () => {
  for (const day of ["2024-04-30", "2024-05-01", "2024-05-31", "2024-06-01", "2024-06-02"]) await store.put(metricsKey(day), `${kpiLine(row(day))}\n`);
  expect((await readDailyKpis(store, "2024-05-01", "2024-06-01")).map((r) => r.pickup_date)).toEqual(["2024-05-01", "2024-05-31", "2024-06-01"]);
  expect(await readDailyKpis(store, "2024-07-01", "2024-07-31")).toEqual([]);
});

test("Spark's part file names and markers; totals beyond a double's digits stay exact; a bad line is an error naming its object", async () => {
  const big = "12345678901234567890.10";
  await store.put("metrics/year=2024/month=05/day=25/part-00000-3f0c.c000.json", `{"pickup_date":"2024-05-25","total_fare":${big},"trip_count":3,"average_fare":4115226300411522630.03,"max_fare":100.0,"min_fare":0.5}\n`);
  await store.put("metrics/year=2024/month=05/day=25/_SUCCESS", "");
  expect(await readDailyKpis(store, "2024-05-25", "2024-05-25")).toEqual([
    { pickup_date: "2024-05-25", total_fare: big, trip_count: 3, average_fare: "4115226300411522630.03", max_fare: "100.00", min_fare: "0.50" },
  ]);
  await store.put(metricsKey("2024-05-26"), '{"pickup_date":"2024-05-26","total_fare":"lots"}\n');
  await expect(readDailyKpis(store, "2024-05-26", "2024-05-26")).rejects.toThrow(MetricsFormatError);
  await expect(readDailyKpis(store, "2024-05-26", "2024-05-26")).rejects.toThrow(/day=26\/part-00000\.jsonl/);
  // An exponent is no decimal any KPI job writes: refused rather than guessed.
  await store.put(metricsKey("2024-05-27"), kpiLine(row("2024-05-27")).replace('"max_fare":6.00', '"max_fare":6E+0'));
  await expect(readDailyKpis(store, "2024-05-27", "2024-05-27")).rejects.toThrow(/max_fare/);
});
