import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { DailyKpi } from "../src/kpi/daily-kpis.js";
import { KPI_FIELDS } from "../src/kpi/registry.js";
import { kpiLine, metricsDayPrefix, metricsKey } from "../src/nightly/kpi-rows-layout.js";
import { type InvalidKpiRow, metricsDays, readDailyKpis, readKpiRange } from "../src/nightly/kpi-rows-reader.js";
import { FolderBlobStore } from "../src/store/blob-store.js";

const golden = JSON.parse(readFileSync(new URL("../golden/kpi-cases.json", import.meta.url), "utf8")) as {
  cases: { name: string; expected: DailyKpi[] }[];
};

let root: string;
let store: FolderBlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "metrics-reader-"));
  store = new FolderBlobStore(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** A row with every registered field: the fares as given, the others 1 (a count) or 1.00. */
const kpi = (pickup_date: string, total_fare = "10.00"): DailyKpi => ({
  pickup_date,
  ...Object.fromEntries(KPI_FIELDS.map((field) => [field.name, field.type === "count" ? 1 : "1.00"])),
  total_fare,
  average_fare: total_fare,
  max_fare: total_fare,
  min_fare: total_fare,
  median_fare: total_fare,
});
/** The fields a row written before them lacks, read as null. */
const NEWER_FIELDS_NULL = Object.fromEntries(
  KPI_FIELDS.filter((field) => field.absent_before).map((field) => [field.name, null]),
);
/** Spark's file name inside a day folder, as the Glue job writes it. */
const sparkKey = (day: string) => `${metricsDayPrefix(day)}part-00000-6f1c1c5e-7d2a-4c59-9a51-0b9f1c7e9a11.c000.json`;

describe("readDailyKpis", () => {
  test("reads back exactly what the KPI jobs write (every golden case)", async () => {
    for (const { name, expected } of golden.cases) {
      await rm(root, { recursive: true, force: true });
      for (const row of expected) await store.put(metricsKey(row.pickup_date), `${kpiLine(row)}\n`);
      const days = expected.map((row) => row.pickup_date);
      if (days.length === 0) continue;
      expect(await readDailyKpis(store, days[0]!, days.at(-1)!), name).toEqual(expected);
    }
  });

  test("a range across a year boundary: local and Spark file names, days outside the range and Spark's bookkeeping ignored", async () => {
    await store.put(metricsKey("2023-12-30"), `${kpiLine(kpi("2023-12-30"))}\n`);
    await store.put(metricsKey("2023-12-31"), `${kpiLine(kpi("2023-12-31", "1.50"))}\n`);
    // Spark writes the partition columns into the path only, and decimals as plain JSON numbers.
    await store.put(
      sparkKey("2024-01-02"),
      '{"pickup_date":"2024-01-02","total_fare":12345678901234567890123456789012345.10,"trip_count":9007199254740991,"average_fare":0.00,"max_fare":3,"min_fare":0.5,"total_tip":0,"total_distance":0.1,"average_duration_minutes":1,"median_fare":0.5}\n',
    );
    await store.put(metricsKey("2024-01-03"), `${kpiLine(kpi("2024-01-03"))}\n`);
    await store.put("metrics/_SUCCESS", "");
    await store.put(
      "metrics/.spark-staging-1/year=2024/month=01/day=01/part-00000-x.c000.json",
      `${kpiLine(kpi("2024-01-01"))}\n`,
    );
    await store.put("metrics/year=2024/month=01/day=01/_temporary/0/part-00000", `${kpiLine(kpi("2024-01-01"))}\n`);

    const invalid: InvalidKpiRow[] = [];
    expect(
      await readDailyKpis(store, "2023-12-31", "2024-01-02", { onInvalid: (row) => invalid.push(row) }),
    ).toMatchObject([
      kpi("2023-12-31", "1.50"),
      {
        pickup_date: "2024-01-02",
        total_fare: "12345678901234567890123456789012345.10",
        trip_count: 9007199254740991,
        average_fare: "0.00",
        max_fare: "3.00",
        min_fare: "0.50",
        total_tip: "0.00",
        total_distance: "0.10",
        average_duration_minutes: "1.00",
        median_fare: "0.50",
      },
    ]);
    expect(invalid).toEqual([]);
  });

  test("a row written before the newer fields existed reads with them null; a field the registry always had must be there", async () => {
    await store.put(
      metricsKey("2024-05-25"),
      '{"pickup_date":"2024-05-25","total_fare":10.00,"trip_count":1,"average_fare":10.00,"max_fare":10.00,"min_fare":10.00}\n',
    );
    await store.put(
      metricsKey("2024-05-26"),
      '{"pickup_date":"2024-05-26","total_fare":10.00,"trip_count":1,"average_fare":10.00,"max_fare":10.00,"total_tip":null}\n',
    );
    const invalid: InvalidKpiRow[] = [];
    expect(await readDailyKpis(store, "2024-05-25", "2024-05-26", { onInvalid: (row) => invalid.push(row) })).toEqual([
      {
        pickup_date: "2024-05-25",
        total_fare: "10.00",
        trip_count: 1,
        average_fare: "10.00",
        max_fare: "10.00",
        min_fare: "10.00",
        ...NEWER_FIELDS_NULL,
      },
    ]);
    expect(invalid.map((row) => row.message)).toEqual(["min_fare: Invalid input: expected string, received undefined"]);
  });

  test("a bad line is left out with its reason and place; the lines and days around it are read", async () => {
    await store.put(metricsKey("2024-05-25"), `${kpiLine(kpi("2024-05-25"))}\n`);
    await store.put(metricsKey("2024-05-26"), `not json\n${kpiLine(kpi("2024-05-26"))}\n`);
    await store.put(
      metricsKey("2024-05-27"),
      '{"pickup_date":"2024-05-27","total_fare":1.0E3,"trip_count":1,"average_fare":1,"max_fare":1,"min_fare":1}\n',
    );
    await store.put(
      metricsKey("2024-05-28"),
      '{"pickup_date":"2024-05-28","total_fare":1.005,"trip_count":1,"average_fare":1,"max_fare":1,"min_fare":1}\n',
    );
    await store.put(
      metricsKey("2024-05-29"),
      '{"pickup_date":"2024-05-29","total_fare":1,"trip_count":0,"average_fare":1,"max_fare":1,"min_fare":1}\n',
    );
    await store.put(metricsKey("2024-05-30"), `${kpiLine(kpi("2024-05-31"))}\n`);
    // Two objects for one day (say a stray copy): neither is trusted.
    await store.put(metricsKey("2024-05-31"), `${kpiLine(kpi("2024-05-31"))}\n`);
    await store.put(sparkKey("2024-05-31"), `${kpiLine(kpi("2024-05-31", "99.00"))}\n`);
    await store.put(
      metricsKey("2024-06-01"),
      '{"pickup_date":"2024-06-01","trip_count":1,"average_fare":1,"max_fare":1,"min_fare":1}\n',
    );

    const invalid: InvalidKpiRow[] = [];
    const kpis = await readDailyKpis(store, "2024-05-25", "2024-06-01", { onInvalid: (row) => invalid.push(row) });

    expect(kpis).toEqual([kpi("2024-05-25"), kpi("2024-05-26")]);
    expect(
      invalid.map(({ key, line, reason }) => [
        key.slice("metrics/".length, "metrics/year=2024/month=05/day=26".length),
        line,
        reason,
      ]),
    ).toEqual([
      ["year=2024/month=05/day=26", 1, "invalid_json"],
      ["year=2024/month=05/day=27", 1, "invalid_kpi_row"],
      ["year=2024/month=05/day=28", 1, "invalid_kpi_row"],
      ["year=2024/month=05/day=29", 1, "invalid_kpi_row"],
      ["year=2024/month=05/day=30", 1, "date_mismatch"],
      ["year=2024/month=06/day=01", 1, "invalid_kpi_row"],
      ["year=2024/month=05/day=31", 1, "duplicate_day"],
      ["year=2024/month=05/day=31", 1, "duplicate_day"],
    ]);
    expect(invalid[1]!.message).toBe("total_fare: must be a non-negative number with at most 2 decimals");
    expect(invalid[3]!.message).toBe("trip_count: must be a positive whole number");
    expect(invalid[5]!.message).toMatch(/^total_fare: /);
  });

  test("an empty bucket has no rows; a range that is not one is an error", async () => {
    expect(await readDailyKpis(store, "2024-05-25", "2024-05-25")).toEqual([]);
    await expect(readDailyKpis(store, "2024-05-26", "2024-05-25")).rejects.toThrow(
      "the range ends (2024-05-25) before it starts (2024-05-26)",
    );
    await expect(readDailyKpis(store, "2024-02-30", "2024-03-01")).rejects.toThrow(
      'expected a YYYY-MM-DD calendar day, got "2024-02-30"',
    );
    await expect(readDailyKpis(store, "20240525", "2024-05-25")).rejects.toThrow(RangeError);
  });
});

describe("metricsDays", () => {
  test("lists the days that have a KPI object, once each, sorted", async () => {
    await store.put(metricsKey("2024-05-26"), "");
    await store.put(sparkKey("2024-05-26"), "");
    await store.put(metricsKey("2023-01-01"), "");
    await store.put("metrics/_SUCCESS", "");
    await store.put("failed/start/2024-05-25/x.jsonl", "");
    expect(await metricsDays(store)).toEqual(["2023-01-01", "2024-05-26"]);
  });
});

describe("readKpiRange", () => {
  test("the rows, the days without one, and the lines left out", async () => {
    await store.put(metricsKey("2024-02-28"), `${kpiLine(kpi("2024-02-28"))}\n`);
    await store.put(metricsKey("2024-03-01"), "{}\n");
    expect(await readKpiRange(store, "2024-02-27", "2024-03-01")).toEqual({
      from: "2024-02-27",
      to: "2024-03-01",
      kpis: [kpi("2024-02-28")],
      missingDays: ["2024-02-27", "2024-02-29", "2024-03-01"],
      invalid: [
        {
          key: metricsKey("2024-03-01"),
          line: 1,
          reason: "invalid_kpi_row",
          message: expect.stringMatching(/^pickup_date: /),
        },
      ],
    });
  });
});
