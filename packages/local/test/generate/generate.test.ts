import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CsvRow, readCsvRows } from "@trip-pipeline/core/domain/csv";
import { type EndEvent, REQUIRED_FIELDS, type StartEvent, validateEvent } from "@trip-pipeline/core/domain/events";
import { matchTrip } from "@trip-pipeline/core/domain/trip";
import { computeDailyKpis } from "@trip-pipeline/core/kpi/daily-kpis";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { hexIdOf } from "../../src/generate/prng.js";
import { END_COLUMNS, generateTrips, START_COLUMNS } from "../../src/generate/trips.js";
import { groundTruth } from "../../src/generate/truth.js";
import { writeTripFiles } from "../../src/generate/write.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gen-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const REAL_DATA = join(__dirname, "../../../../shared/data/lab7");

async function readAll(path: string, kind: "start" | "end"): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const row of readCsvRows(createReadStream(path), REQUIRED_FIELDS[kind], path)) rows.push(row);
  return rows;
}

async function generate(options: { trips: number; days: number; seed: number; startDate: string }) {
  const paths = await writeTripFiles({ ...options, outDir: dir });
  const [start, end] = [await readAll(paths.startFile, "start"), await readAll(paths.endFile, "end")];
  const valid = <T>(rows: CsvRow[], kind: "start" | "end") =>
    rows.flatMap((row) => {
      const result = row.malformed ? undefined : validateEvent(kind, row.record);
      return result?.ok ? [result.value as T] : [];
    });
  return { paths, start, end, starts: valid<StartEvent>(start, "start"), ends: valid<EndEvent>(end, "end") };
}

const minutes = (from: string, to: string) =>
  (Date.parse(`${to.replace(" ", "T")}Z`) - Date.parse(`${from.replace(" ", "T")}Z`)) / 60_000;

describe("generated trip files", () => {
  test("the same options give the same bytes; another seed gives other trips", async () => {
    const options = { trips: 500, days: 2, seed: 42, startDate: "2024-05-25" };
    const a = await writeTripFiles({ ...options, outDir: join(dir, "a") });
    const b = await writeTripFiles({ ...options, outDir: join(dir, "b") });
    const c = await writeTripFiles({ ...options, seed: 43, outDir: join(dir, "c") });
    expect(await readFile(a.startFile, "utf8")).toBe(await readFile(b.startFile, "utf8"));
    expect(await readFile(a.endFile, "utf8")).toBe(await readFile(b.endFile, "utf8"));
    expect(await readFile(c.startFile, "utf8")).not.toBe(await readFile(a.startFile, "utf8"));
  });

  test("have exactly the real exports' columns in their order: trip_end has trip_id last", async () => {
    const { paths } = await generate({ trips: 10, days: 1, seed: 1, startDate: "2024-05-25" });
    expect((await readFile(paths.startFile, "utf8")).split("\n")[0]).toBe(
      "trip_id,pickup_location_id,dropoff_location_id,vendor_id,pickup_datetime,estimated_dropoff_datetime,estimated_fare_amount",
    );
    expect((await readFile(paths.endFile, "utf8")).split("\n")[0]).toBe(
      "dropoff_datetime,rate_code,passenger_count,trip_distance,fare_amount,tip_amount,payment_type,trip_type,trip_id",
    );
  });

  test.skipIf(!existsSync(REAL_DATA))(
    "headers match the real sample files (when ../shared/data/lab7 is present)",
    async () => {
      const header = async (name: string) => (await readFile(join(REAL_DATA, name), "utf8")).split(/\r?\n/)[0];
      expect(await header("trip_start.csv")).toBe(START_COLUMNS.join(","));
      expect(await header("trip_end.csv")).toBe(END_COLUMNS.join(","));
    },
  );

  test("trips look real: pickups all day, 3-90 minute rides, some past midnight, fares following the ride", async () => {
    const { starts, ends, end } = await generate({ trips: 5000, days: 3, seed: 7, startDate: "2024-05-25" });
    const endOf = new Map(ends.map((e) => [e.trip_id, e]));
    const pairs = starts.flatMap((s) => (endOf.has(s.trip_id) ? [[s, endOf.get(s.trip_id)!] as const] : []));
    const rides = pairs.filter(([s, e]) => e.dropoff_datetime >= s.pickup_datetime);
    expect(rides.length).toBeGreaterThan(4500);
    expect(new Set(starts.map((s) => s.pickup_datetime.slice(11, 13))).size).toBe(24);
    expect(new Set(starts.map((s) => s.pickup_datetime.slice(0, 10)))).toEqual(
      new Set(["2024-05-25", "2024-05-26", "2024-05-27"]),
    );
    const durations = rides.map(([s, e]) => minutes(s.pickup_datetime, e.dropoff_datetime));
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...durations)).toBeLessThanOrEqual(90);
    expect(
      rides.filter(([s, e]) => s.pickup_datetime.slice(0, 10) !== e.dropoff_datetime.slice(0, 10)).length,
    ).toBeGreaterThan(10);

    // Fares grow with the ride: a clear positive correlation with the duration.
    const fares = rides.map(([, e]) => Number(e.fare_amount));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [md, mf] = [mean(durations), mean(fares)];
    const cov = mean(durations.map((d, i) => (d - md) * (fares[i]! - mf)));
    const sd = (xs: number[], m: number) => Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    expect(cov / (sd(durations, md) * sd(fares, mf))).toBeGreaterThan(0.6);
    expect(Math.min(...fares)).toBeGreaterThanOrEqual(2.5);

    const decimals = ends.map((e) => e.fare_amount.split(".")[1]?.length ?? 0);
    expect(Math.max(...decimals)).toBeLessThanOrEqual(15);
    expect(decimals.filter((d) => d >= 13).length).toBeGreaterThan(ends.length / 2);
    // About one end row in ten lacks the categorical columns, as in the real exports.
    const blank = end.filter((row) => row.record.rate_code === "" && row.record.payment_type === "").length;
    expect(blank / end.length).toBeGreaterThan(0.05);
    expect(blank / end.length).toBeLessThan(0.15);
  });

  test("a range that includes February 29 has leap-day trips", async () => {
    const { starts } = await generate({ trips: 400, days: 3, seed: 2, startDate: "2024-02-28" });
    expect(new Set(starts.map((s) => s.pickup_datetime.slice(0, 10)))).toEqual(
      new Set(["2024-02-28", "2024-02-29", "2024-03-01"]),
    );
  });

  test("carry every kind of bad row, exact duplicates, orphans both ways and dropoff-before-pickup anomalies", async () => {
    const options = { trips: 2000, days: 3, seed: 42, startDate: "2024-02-28" };
    const { start, end, starts, ends } = await generate(options);
    const truth = groundTruth(options);
    const kinds = [
      "malformed_row",
      "invalid_trip_id",
      "invalid_datetime_format",
      "invalid_calendar_datetime",
      "invalid_fare",
      "invalid_extra",
    ];
    expect(Object.keys(truth.files.start.reasons).sort()).toEqual([...kinds].sort());
    expect(Object.keys(truth.files.end.reasons).sort()).toEqual([...kinds].sort());

    const repeated = (rows: CsvRow[]) => rows.length - new Set(rows.map((r) => r.raw)).size;
    expect(repeated(start)).toBeGreaterThan(5);
    expect(repeated(end)).toBeGreaterThan(5);
    const startIds = new Set(starts.map((s) => s.trip_id));
    const endIds = new Set(ends.map((e) => e.trip_id));
    expect([...startIds].filter((id) => !endIds.has(id)).length).toBeGreaterThan(5);
    expect([...endIds].filter((id) => !startIds.has(id)).length).toBeGreaterThan(5);
    expect(truth.trips.anomalies).toBeGreaterThan(3);
  });

  test("the ground truth is what the core's own rules make of the written files", async () => {
    const options = { trips: 3000, days: 4, seed: 99, startDate: "2024-02-27" };
    const { starts, ends } = await generate(options);
    const truth = groundTruth(options);
    const byTrip = new Map<string, { starts: StartEvent[]; ends: EndEvent[] }>();
    const entry = (id: string) => byTrip.get(id) ?? byTrip.set(id, { starts: [], ends: [] }).get(id)!;
    for (const s of starts) entry(s.trip_id).starts.push(s);
    for (const e of ends) entry(e.trip_id).ends.push(e);
    const outcomes = [...byTrip.values()].map((t) => matchTrip(t.starts, t.ends));
    const completed = outcomes.flatMap((o) => (o.kind === "completed" ? [o.trip] : []));
    expect(truth.trips).toEqual({
      completed: completed.length,
      pending: outcomes.filter((o) => o.kind === "pending").length,
      anomalies: outcomes.filter((o) => o.kind === "anomaly").length,
    });
    expect(truth.kpis).toEqual(computeDailyKpis(completed));
    expect(truth.kpis.map((k) => k.pickup_date)).toContain("2024-02-29");
  });

  test("trip ids are unique 10-hex-digit strings", () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => hexIdOf(42, i));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9a-f]{10}$/.test(id))).toBe(true);
    expect([...generateTrips({ trips: 3, days: 1, seed: 42, startDate: "2024-05-25" })].map((t) => t.trip_id)).toEqual(
      ids.slice(0, 3),
    );
  });

  test("rejects impossible options", () => {
    expect(() => [...generateTrips({ trips: 1, days: 1, seed: 1, startDate: "2023-02-29" })]).toThrow(
      /not a real YYYY-MM-DD date/,
    );
    expect(() => [...generateTrips({ trips: 1, days: 0, seed: 1, startDate: "2024-05-25" })]).toThrow(/days must be/);
  });
});
