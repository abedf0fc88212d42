/**
 * `pnpm check-order`: the end-to-end check that KPIs depend on the set of rows only. Adds
 * conflicting events to a pair of exports (for chosen trips a second start with another pickup
 * and estimated fare, a second end with another dropoff and fare; for a third of them also a
 * start and an end at the same instant as the original with other values), shuffles the rows two
 * ways, runs `pnpm -s start --json` on each, and compares both reports with each other and with
 * the core rule applied to the rows in memory. Exit 0 only if every figure agrees, both runs
 * exit 0 and nothing reached a DLQ.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDateTime } from "@trip-pipeline/core/domain/datetime";
import { type EndEvent, type StartEvent, validateEvent } from "@trip-pipeline/core/domain/events";
import { type CompletedTrip, matchTrip } from "@trip-pipeline/core/domain/trip";
import { computeDailyKpis, type DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { tripCount } from "@trip-pipeline/core/kpi/registry";
import { intBetween, mulberry32, type Random } from "@trip-pipeline/local/generate/prng";
import { intOption, parseCli, REPO_ROOT, runWhenMain, UsageError } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import type { SnakeCased } from "./lib/json-output.js";
import { checkInputFile } from "./lib/preflight.js";
import type { RunReport } from "./start.js";

export const HELP: Help = {
  command: "pnpm check-order",
  synopsis: ["--start-file F --end-file F [--conflicts N] [--seed S] [--keep DIR]"],
  about:
    "Checks end to end that the KPIs depend on the set of rows only: adds conflicting events for some trips, shuffles the rows two ways, runs `pnpm start --json` on each and compares both reports with each other and with the rule applied in memory.",
  options: [
    ["--start-file F, --end-file F", "the two CSV exports to start from"],
    ["--conflicts N", "trips that get conflicting events (default 300)"],
    ["--seed S", "seed of the conflicts and the shuffles (default 1)"],
    [
      "--keep DIR",
      "write the shuffled exports and both runs' folders to DIR and keep them (default: a temporary folder, removed)",
    ],
  ],
  failures: "a figure differs between the runs or from the rule, a run did not exit 0, or records reached a DLQ",
};

const OPTIONS = {
  "start-file": { type: "string" },
  "end-file": { type: "string" },
  conflicts: { type: "string" },
  seed: { type: "string" },
  keep: { type: "string" },
} as const;

/** A CSV export held as lines; the real exports have one row per line and no quoted cells. */
interface Table {
  file: string;
  header: string[];
  rows: string[][];
}

function parseTable(text: string, file: string): Table {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  // Input problems, not usage: one line naming the file (exit 1).
  if (lines.some((line) => line.includes('"')))
    throw new Error(`${file}: quoted cells are not supported by this check; give an export without quotes`);
  const [header, ...rows] = lines.map((line) => line.split(","));
  if (!header) throw new Error(`${file}: no rows, only blank lines; give a CSV export with a header line and rows`);
  return { file, header, rows };
}

const render = (table: Pick<Table, "header" | "rows">) =>
  `${[table.header, ...table.rows].map((cells) => cells.join(",")).join("\n")}\n`;

function column(table: Table, name: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) throw new Error(`${table.file}: no ${name} column in the header line`);
  return index;
}

function shiftMinutes(datetime: string, minutes: number): string {
  return formatDateTime(new Date(Date.parse(`${datetime.replace(" ", "T")}Z`) + minutes * 60_000));
}

const otherFare = (random: Random) =>
  `${intBetween(random, 3, 120)}.${String(intBetween(random, 0, 99)).padStart(2, "0")}`;
const nonZero = (random: Random) => (random() < 0.5 ? -1 : 1) * intBetween(random, 1, 20);

/** Adds conflicting rows for `count` trips that have both a start and an end. */
function addConflicts(starts: Table, ends: Table, count: number, random: Random): number {
  const [sTrip, sPickup, sFare] = ["trip_id", "pickup_datetime", "estimated_fare_amount"].map((name) =>
    column(starts, name),
  ) as [number, number, number];
  const [eTrip, eDropoff, eFare] = ["trip_id", "dropoff_datetime", "fare_amount"].map((name) => column(ends, name)) as [
    number,
    number,
    number,
  ];
  const endOf = new Map(ends.rows.map((row) => [row[eTrip], row]));
  const candidates = starts.rows.filter((row) => endOf.has(row[sTrip]));
  const chosen = shuffled(candidates, random).slice(0, count);
  chosen.forEach((start, i) => {
    const end = endOf.get(start[sTrip])!;
    const withCell = (row: string[], index: number, value: string) =>
      row.map((cell, j) => (j === index ? value : cell));
    starts.rows.push(
      withCell(withCell(start, sPickup, shiftMinutes(start[sPickup]!, nonZero(random))), sFare, otherFare(random)),
    );
    ends.rows.push(
      withCell(withCell(end, eDropoff, shiftMinutes(end[eDropoff]!, nonZero(random))), eFare, otherFare(random)),
    );
    if (i % 3 === 0) {
      starts.rows.push(withCell(start, sFare, otherFare(random)));
      ends.rows.push(withCell(end, eFare, otherFare(random)));
    }
  });
  return chosen.length;
}

function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** What the rule makes of the valid rows, whatever their order: the figures both runs must print. */
function expected(starts: Table, ends: Table): Pick<RunReport, "kpis" | "pending" | "anomalies"> {
  const trips = new Map<string, { starts: StartEvent[]; ends: EndEvent[] }>();
  const add = (kind: "start" | "end", table: Table) => {
    for (const cells of table.rows) {
      const result = validateEvent(kind, Object.fromEntries(table.header.map((name, i) => [name, cells[i] ?? ""])));
      if (!result.ok) continue;
      const trip = trips.get(result.value.trip_id) ?? { starts: [], ends: [] };
      if (result.value.event_type === "start") trip.starts.push(result.value);
      else trip.ends.push(result.value as EndEvent);
      trips.set(result.value.trip_id, trip);
    }
  };
  add("start", starts);
  add("end", ends);
  const completed: CompletedTrip[] = [];
  let pending = 0;
  let anomalies = 0;
  for (const trip of trips.values()) {
    const outcome = matchTrip(trip.starts, trip.ends);
    if (outcome.kind === "completed") completed.push(outcome.trip);
    else if (outcome.kind === "anomaly") anomalies += 1;
    else pending += 1;
  }
  return { kpis: computeDailyKpis(completed), pending, anomalies };
}

/** What `pnpm start --json` prints. */
type StartJson = SnakeCased<RunReport>;

function startRun(
  startFile: string,
  endFile: string,
  out: string,
): Promise<{ code: number; report?: StartJson; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "pnpm",
      ["-s", "start", "--json", "--start-file", startFile, "--end-file", endFile, "--out", out],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").at(-1);
      let report: StartJson | undefined;
      try {
        report = last ? (JSON.parse(last) as StartJson) : undefined;
      } catch {
        report = undefined;
      }
      resolve({ code: code ?? 1, report, stderr });
    });
  });
}

const figures = (r: Pick<RunReport, "kpis" | "pending" | "anomalies">) =>
  JSON.stringify({ kpis: r.kpis, pending: r.pending, anomalies: r.anomalies });
const trips = (kpis: DailyKpi[]) => kpis.reduce((sum, k) => sum + tripCount(k), 0);

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  if (!values["start-file"] || !values["end-file"]) throw new UsageError("give --start-file and --end-file");
  const conflicts = intOption("conflicts", values.conflicts, 0) ?? 300;
  const seed = intOption("seed", values.seed, 0) ?? 1;
  checkInputFile("start-file", values["start-file"]);
  checkInputFile("end-file", values["end-file"]);
  const random = mulberry32(seed);
  const starts = parseTable(await readFile(values["start-file"], "utf8"), values["start-file"]);
  const ends = parseTable(await readFile(values["end-file"], "utf8"), values["end-file"]);
  const added = addConflicts(starts, ends, conflicts, random);
  const truth = expected(starts, ends);

  const dir = values.keep ?? (await mkdtemp(join(tmpdir(), "check-order-")));
  try {
    const runs = [];
    for (const name of ["a", "b"]) {
      const startFile = join(dir, `${name}-trip_start.csv`);
      const endFile = join(dir, `${name}-trip_end.csv`);
      await writeFile(startFile, render({ header: starts.header, rows: shuffled(starts.rows, random) }));
      await writeFile(endFile, render({ header: ends.header, rows: shuffled(ends.rows, random) }));
      const result = await startRun(startFile, endFile, join(dir, `${name}-local`));
      runs.push({ name, ...result });
    }
    process.stdout.write(
      `conflicting trips added: ${added} (rows: ${starts.rows.length} starts, ${ends.rows.length} ends)\n`,
    );
    process.stdout.write(
      `expected by the rule: ${trips(truth.kpis)} completed over ${truth.kpis.length} days, ${truth.pending} pending, ${truth.anomalies} anomalies\n`,
    );
    let ok = true;
    for (const run of runs) {
      const r = run.report;
      const same = r !== undefined && figures(r) === figures(truth);
      ok &&= run.code === 0 && r !== undefined && r.dlq === 0 && same;
      process.stdout.write(
        r
          ? `run ${run.name}: exit ${run.code}, ${r.events} events in ${r.seconds} s, dlq ${r.dlq}, ${trips(r.kpis)} completed, ${r.pending} pending, ${r.anomalies} anomalies, KPIs ${same ? "equal the rule's" : "DIFFER from the rule's"}\n`
          : `run ${run.name}: exit ${run.code}, no report\n${run.stderr.slice(-2_000)}\n`,
      );
    }
    const [a, b] = runs;
    const identical = a?.report !== undefined && b?.report !== undefined && figures(a.report) === figures(b.report);
    process.stdout.write(
      `the two orders give ${identical ? "identical" : "DIFFERENT"} KPIs\n${ok && identical ? "OK" : "FAILED"}\n`,
    );
    return ok && identical ? EXIT.done : EXIT.failures;
  } finally {
    if (values.keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}

export const launch = runWhenMain(import.meta.url, HELP, main);
