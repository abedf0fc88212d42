/**
 * `pnpm start` end to end: the whole local pipeline, as a user runs it, on generated data with
 * every irregularity (invalid rows, duplicates, orphans, anomalies, cross-midnight trips, a leap
 * day), and on the real sample where present. Its KPIs (every field of the registry) must equal an independent naive computation over the input files (own CSV
 * parsing, own rules, BigInt sums; nothing from core), with and without injected faults.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { KPI_FIELDS } from "@trip-pipeline/core/kpi/registry";
import { groundTruth, writeTripFiles } from "@trip-pipeline/local/generate";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EXIT } from "../lib/exit-codes.js";
import type { SnakeCased } from "../lib/json-output.js";
import type { RunReport } from "../start.js";
import { ROOT, runCli, TSX } from "./support/run-cli.js";

const GENERATED = { trips: 900, days: 3, seed: 2024, startDate: "2024-02-28" };
let dir: string;
let files: { startFile: string; endFile: string };
let naive: NaiveOutcome;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "start-e2e-"));
  files = await writeTripFiles({ ...GENERATED, outDir: join(dir, "data") });
  naive = naiveOutcome(await readFile(files.startFile, "utf8"), await readFile(files.endFile, "utf8"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** What `pnpm start --json` prints. */
type StartJson = SnakeCased<RunReport>;
const consumer = (report: StartJson, name: string) => report.consumers.find((c) => c.name === name)!;
const run = (command: string, args: string[]) => runCli(command, args, { LOG_LEVEL: "warn" });
/** A day's live row as the naive computation has it: every field but the nightly-only median, settled. */
const liveOf = ({ median_fare: _nightlyOnly, ...kpi }: DailyKpi) => ({ ...kpi, settling: false });
/** The real exports (lab7), where present: not part of the repository. */
const REAL_SAMPLE = process.env.TRIP_PIPELINE_SAMPLE_DIR ?? join(ROOT, "..", "shared", "data", "lab7");

describe("pnpm start", () => {
  test("the data covers what the pipeline must get right", () => {
    expect(naive.kpis.map((k) => k.pickup_date)).toContain("2024-02-29");
    expect(naive.crossMidnight).toBeGreaterThan(0);
    expect(naive.duplicateRows).toBeGreaterThan(0);
    expect(naive.pending).toBeGreaterThan(0);
    expect(naive.anomalies).toBeGreaterThan(0);
    expect(naive.files.start.rejected + naive.files.end.rejected).toBeGreaterThan(0);
  });

  test("`pnpm -s start --json` prints only the report; KPIs, pending and anomalies equal the naive computation; the KPI files are in the bucket folder", async () => {
    const out = join(dir, "clean");
    const { code, stdout, stderr } = await run("pnpm", [
      "-s",
      "start",
      "--start-file",
      files.startFile,
      "--end-file",
      files.endFile,
      "--json",
      "--keep",
      "--out",
      out,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout.endsWith("}\n")).toBe(true);
    expect(stdout.trimEnd().split("\n")).toHaveLength(1);
    const report = JSON.parse(stdout) as StartJson;

    expect(report.kpis).toEqual(naive.kpis);
    // The live KPIs (stream aggregates) equal the nightly ones, and the reconciliation says so.
    expect(report.live).toEqual(naive.kpis.map(liveOf));
    expect(report.drift).toBe(0);
    expect(report.pending).toBe(naive.pending);
    expect(report.anomalies).toBe(naive.anomalies);
    expect(report.dlq).toBe(0);
    // What the run held: the live heap (both threads, after full collections) within the peak RSS.
    const { memory } = report;
    expect(memory.heap_after_gc_by_thread.main).toBeGreaterThan(0);
    expect(memory.heap_after_gc_bytes).toBe(
      memory.heap_after_gc_by_thread.main + memory.heap_after_gc_by_thread.emulators,
    );
    expect(memory.peak_rss_bytes).toBeGreaterThan(memory.heap_after_gc_bytes);
    for (const kind of ["start", "end"] as const)
      expect(report.ingest[kind]).toMatchObject({
        read: naive.files[kind].rows,
        valid: naive.files[kind].valid,
        rejected: naive.files[kind].rejected,
        sent: naive.files[kind].valid,
        failed: 0,
      });

    // The generator's own view of the same data agrees (a second, model-based oracle).
    const truth = groundTruth(GENERATED);
    expect({ kpis: report.kpis, pending: report.pending, anomalies: report.anomalies }).toEqual({
      kpis: truth.kpis,
      pending: truth.trips.pending,
      anomalies: truth.trips.anomalies,
    });

    for (const kpi of naive.kpis) {
      const [year, month, day] = kpi.pickup_date.split("-");
      const line = await readFile(
        join(out, "bucket", "metrics", `year=${year}`, `month=${month}`, `day=${day}`, "part-00000.jsonl"),
        "utf8",
      );
      expect(line).toBe(
        `{"pickup_date":"${kpi.pickup_date}","total_fare":${kpi.total_fare},"trip_count":${kpi.trip_count},"average_fare":${kpi.average_fare},"max_fare":${kpi.max_fare},"min_fare":${kpi.min_fare},` +
          `"total_tip":${kpi.total_tip},"total_distance":${kpi.total_distance},"average_duration_minutes":${kpi.average_duration_minutes},"median_fare":${kpi.median_fare}}\n`,
      );
    }
  }, 300_000);

  test("with handler crashes and emulator throttling the run converges to the same KPIs: nothing lost, nothing counted twice", async () => {
    const { code, stdout, stderr } = await run(TSX, [
      "scripts/start.ts",
      "--start-file",
      files.startFile,
      "--end-file",
      files.endFile,
      "--json",
      "--out",
      join(dir, "faults"),
      "--throttle",
      "0.1",
      "--crash",
      "0.2",
      "--seed",
      "7",
    ]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as StartJson;
    expect(report.kpis).toEqual(naive.kpis);
    expect(report.live).toEqual(naive.kpis.map(liveOf));
    expect(report.drift).toBe(0);
    expect(report.pending).toBe(naive.pending);
    expect(report.anomalies).toBe(naive.anomalies);
    expect(report.dlq).toBe(0);
    expect(report.ingest.start.sent + report.ingest.end.sent).toBe(naive.files.start.valid + naive.files.end.valid);
    // The faults happened: crashes in every function, throttled calls, retried batches.
    for (const stats of report.consumers) expect(stats.crashes).toBeGreaterThan(0);
    expect(report.throttled.requests).toBeGreaterThan(0);
    expect(report.throttled.items).toBeGreaterThan(0);
    expect(report.consumers.reduce((sum, c) => sum + c.retries + c.bisections, 0)).toBeGreaterThan(0);
  }, 300_000);

  describe("delivery as AWS may, on the bundled sample: exit 0, no drift, nothing left in the DLQ, the naive KPIs", () => {
    let sample: NaiveOutcome;
    beforeAll(async () => {
      sample = naiveOutcome(
        await readFile(join(ROOT, "data", "trip_start.csv"), "utf8"),
        await readFile(join(ROOT, "data", "trip_end.csv"), "utf8"),
      );
    });
    const converges = async (name: string, args: string[]) => {
      const { code, stdout, stderr } = await run("pnpm", ["-s", "start", "--json", "--out", join(dir, name), ...args]);
      const report = JSON.parse(stdout) as StartJson;
      expect({ code, drift: report.drift, dlq: report.dlq }, stderr.slice(-2_000)).toEqual({
        code: 0,
        drift: 0,
        dlq: 0,
      });
      expect(report.kpis).toEqual(sample.kpis);
      expect(report.live).toEqual(sample.kpis.map(liveOf));
      expect(report.pending).toBe(sample.pending);
      return report;
    };

    test("--outage matcher --redrive --reorder: the matcher's batches went to the DLQ, and the redrive replayed all of them", async () => {
      const report = await converges("outage-matcher", ["--outage", "matcher", "--redrive", "--reorder"]);
      expect(consumer(report, "matcher").to_dlq).toBeGreaterThan(0);
      expect(report.redrive).toMatchObject({
        records: consumer(report, "matcher").to_dlq,
        replayed: consumer(report, "matcher").to_dlq,
        remaining: 0,
      });
    }, 300_000);

    test("--outage kpiAggregator --redrive: the live KPIs count the replayed batches exactly once", async () => {
      const report = await converges("outage-aggregator", ["--outage", "kpiAggregator", "--redrive"]);
      expect(report.redrive!.replayed).toBe(consumer(report, "kpiAggregator").to_dlq);
      expect(report.redrive!.replayed).toBeGreaterThan(0);
    }, 300_000);

    test("--shard-rollover 400 --reorder --crash 0.2 --throttle 0.1 --redrive", async () => {
      const report = await converges("rollover", [
        "--shard-rollover",
        "400",
        "--reorder",
        "--crash",
        "0.2",
        "--throttle",
        "0.1",
        "--redrive",
        "--seed",
        "3",
      ]);
      // Batches never span a rollover: tripBegin's starts (the first half of the stream) need one batch per 400 records at least.
      expect(consumer(report, "tripBegin").invocations).toBeGreaterThanOrEqual(
        Math.ceil(sample.files.start.valid / 400),
      );
    }, 300_000);
  });
  test("with GSI lag and TTL (`--gsi-lag-ms 1500 --ttl`) the bundled sample ends as the naive computation says, live KPIs included", async () => {
    const sample = naiveOutcome(
      await readFile(join(ROOT, "data", "trip_start.csv"), "utf8"),
      await readFile(join(ROOT, "data", "trip_end.csv"), "utf8"),
    );
    const { code, stdout, stderr } = await run("pnpm", [
      "-s",
      "start",
      "--json",
      "--out",
      join(dir, "lag-ttl"),
      "--gsi-lag-ms",
      "1500",
      "--ttl",
    ]);
    const report = JSON.parse(stdout) as StartJson;
    expect(report.kpis).toEqual(sample.kpis);
    expect(report.pending).toBe(sample.pending);
    expect(report.anomalies).toBe(sample.anomalies);
    expect(report.dlq).toBe(0);
    expect(report.live).toEqual(sample.kpis.map(liveOf));
    expect(report.drift).toBe(0);
    expect(code, stderr).toBe(0);
  }, 300_000);

  test.skipIf(!existsSync(join(REAL_SAMPLE, "trip_start.csv")))(
    "on the real sample (../shared/data/lab7, when present): every field equals the naive computation, live carries the decomposable ones, drift 0",
    async () => {
      const startFile = join(REAL_SAMPLE, "trip_start.csv");
      const endFile = join(REAL_SAMPLE, "trip_end.csv");
      const real = naiveOutcome(await readFile(startFile, "utf8"), await readFile(endFile, "utf8"));
      const { code, stdout, stderr } = await run("pnpm", [
        "-s",
        "start",
        "--json",
        "--out",
        join(dir, "real"),
        "--start-file",
        startFile,
        "--end-file",
        endFile,
      ]);
      expect(code, stderr.slice(-2_000)).toBe(0);
      const report = JSON.parse(stdout) as RunReport;
      expect(report.kpis).toEqual(real.kpis);
      expect(report.live).toEqual(real.kpis.map(liveOf));
      expect(report.live.every((row) => !("median_fare" in row))).toBe(true);
      expect(report.drift).toBe(0);
      // The sample has tips and distances: the new sums are not zero by accident.
      expect(real.kpis.every((kpi) => kpi.total_tip !== "0.00" && kpi.total_distance !== "0.00")).toBe(true);
    },
    300_000,
  );

  test("usage errors: one line pointing to --help, the usage exit code", async () => {
    const { code, stderr } = await run(TSX, ["scripts/start.ts", "--start-file", files.startFile]);
    expect(code).toBe(EXIT.usage);
    expect(stderr).toBe("error: give both --start-file and --end-file, or neither (see pnpm start --help)\n");
    const outage = await run(TSX, ["scripts/start.ts", "--outage", "ingest"]);
    expect(outage.code).toBe(EXIT.usage);
    expect(outage.stderr).toContain("--outage must name a consumer (tripBegin, tripFinish, matcher, kpiAggregator)");
    const storage = await run(TSX, ["scripts/start.ts", "--on-disk", "--in-memory"]);
    expect([storage.code, storage.stderr]).toEqual([
      EXIT.usage,
      expect.stringContaining("give --on-disk or --in-memory, not both"),
    ]);
  });
});

// ---- The independent naive computation ----

interface NaiveOutcome {
  kpis: DailyKpi[];
  pending: number;
  anomalies: number;
  crossMidnight: number;
  duplicateRows: number;
  files: Record<"start" | "end", { rows: number; valid: number; rejected: number }>;
}

/** RFC 4180: quoted cells may hold commas and doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const cells: string[] = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < line.length; i += 1) {
      const c = line[i]!;
      if (quoted && c === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = !quoted;
      else if (c === "," && !quoted) {
        cells.push(cell);
        cell = "";
      } else cell += c;
    }
    cells.push(cell);
    rows.push(cells.map((value) => value.trim()));
  }
  return rows;
}

const DECIMAL = /^\d+(\.\d+)?$/;
/** Digits from the first non-zero one to the last non-zero one (DynamoDB keeps 38). */
function significantDigits(text: string): number {
  const [whole, fraction = ""] = text.split(".");
  return (whole! + fraction.replace(/0+$/, "")).replace(/^0+/, "").length;
}
const decimalOk = (text: string) => DECIMAL.test(text) && significantDigits(text) <= 38;

function datetimeOk(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s
  );
}

const RULES = {
  start: {
    time: "pickup_datetime",
    fare: "estimated_fare_amount",
    integers: ["pickup_location_id", "dropoff_location_id", "vendor_id"],
    decimals: [],
    datetimes: ["estimated_dropoff_datetime"],
  },
  end: {
    time: "dropoff_datetime",
    fare: "fare_amount",
    integers: [],
    decimals: ["rate_code", "passenger_count", "trip_distance", "tip_amount", "payment_type", "trip_type"],
    datetimes: [],
  },
} as const;

type Row = Record<string, string>;

function validRows(kind: "start" | "end", text: string) {
  const [header, ...rows] = parseCsv(text);
  const rules = RULES[kind];
  const valid: Row[] = [];
  for (const cells of rows) {
    if (cells.length !== header!.length) continue;
    const row: Row = Object.fromEntries(header!.map((name, i) => [name, cells[i]!]));
    const ok =
      row.trip_id!.length > 0 &&
      row.trip_id!.length <= 128 &&
      datetimeOk(row[rules.time]!) &&
      decimalOk(row[rules.fare]!) &&
      rules.integers.every((c) => row[c] === "" || /^\d+$/.test(row[c]!)) &&
      rules.decimals.every((c) => row[c] === "" || decimalOk(row[c]!)) &&
      rules.datetimes.every((c) => row[c] === "" || datetimeOk(row[c]!));
    if (ok) valid.push(row);
  }
  return { rows: rows.length, valid };
}

/** Fares as BigInt units of 10^-40 (valid fares have at most 38 significant digits). */
const SCALE = 10n ** 40n;
const units = (fare: string) => {
  const [whole, fraction = ""] = fare.split(".");
  return BigInt(whole!) * SCALE + BigInt(fraction.padEnd(40, "0"));
};
/** value / divisor (in 10^-40 units), rounded half-up to cents, as text. */
function cents(value: bigint, divisor = 1n): string {
  const c = (2n * value * 100n + divisor * SCALE) / (2n * divisor * SCALE);
  return `${c / 100n}.${String(c % 100n).padStart(2, "0")}`;
}

function naiveOutcome(startText: string, endText: string): NaiveOutcome {
  const starts = validRows("start", startText);
  const ends = validRows("end", endText);
  const trips = new Map<string, { starts: Row[]; ends: Row[] }>();
  for (const [kind, rows] of [
    ["starts", starts.valid],
    ["ends", ends.valid],
  ] as const)
    for (const row of rows) {
      const trip = trips.get(row.trip_id!) ?? { starts: [], ends: [] };
      trip[kind].push(row);
      trips.set(row.trip_id!, trip);
    }
  // Every plain column sum of the KPI registry (tips, distance, and any added later): the column of the matched end row, absent = 0.
  const columnSums = KPI_FIELDS.filter((f) => f.aggregation === "sum" && f.source !== "fare_amount");
  const days = new Map<string, { fares: bigint[]; sums: bigint[]; seconds: bigint }>();
  let pending = 0;
  let anomalies = 0;
  let crossMidnight = 0;
  for (const trip of trips.values()) {
    if (trip.starts.length === 0 || trip.ends.length === 0) {
      pending += 1;
      continue;
    }
    const start = trip.starts.reduce((a, b) => (b.pickup_datetime! < a.pickup_datetime! ? b : a));
    const later = trip.ends.filter((e) => e.dropoff_datetime! >= start.pickup_datetime!);
    if (later.length === 0) {
      anomalies += 1;
      continue;
    }
    const end = later.reduce((a, b) => (b.dropoff_datetime! < a.dropoff_datetime! ? b : a));
    if (end.dropoff_datetime!.slice(0, 10) !== start.pickup_datetime!.slice(0, 10)) crossMidnight += 1;
    const day = start.pickup_datetime!.slice(0, 10);
    const totals = days.get(day) ?? days.set(day, { fares: [], sums: columnSums.map(() => 0n), seconds: 0n }).get(day)!;
    totals.fares.push(units(end.fare_amount!));
    columnSums.forEach((field, i) => {
      totals.sums[i]! += units(end[field.source] || start[field.source] || "0");
    });
    totals.seconds += BigInt(
      (Date.parse(`${end.dropoff_datetime!.replace(" ", "T")}Z`) -
        Date.parse(`${start.pickup_datetime!.replace(" ", "T")}Z`)) /
        1000,
    );
  }
  const duplicateRows =
    starts.valid.length +
    ends.valid.length -
    new Set([...starts.valid.map((r) => `s${r.trip_id}`), ...ends.valid.map((r) => `e${r.trip_id}`)]).size;
  return {
    kpis: [...days.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([pickup_date, t]) => {
        const fares = t.fares.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const total = fares.reduce((a, b) => a + b, 0n);
        const count = BigInt(fares.length);
        const middle = fares.length >> 1;
        return {
          pickup_date,
          total_fare: cents(total),
          trip_count: fares.length,
          average_fare: cents(total, count),
          max_fare: cents(fares.at(-1)!),
          min_fare: cents(fares[0]!),
          ...Object.fromEntries(
            columnSums.map((field, i) => [
              field.name,
              field.type === "count" ? Number((2n * t.sums[i]! + SCALE) / (2n * SCALE)) : cents(t.sums[i]!),
            ]),
          ),
          average_duration_minutes: cents(t.seconds * SCALE, count * 60n),
          median_fare: fares.length % 2 === 1 ? cents(fares[middle]!) : cents(fares[middle - 1]! + fares[middle]!, 2n),
        };
      }),
    pending,
    anomalies,
    crossMidnight,
    duplicateRows,
    files: {
      start: { rows: starts.rows, valid: starts.valid.length, rejected: starts.rows - starts.valid.length },
      end: { rows: ends.rows, valid: ends.valid.length, rejected: ends.rows - ends.valid.length },
    },
  };
}
