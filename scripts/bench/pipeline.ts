/**
 * The end-to-end benchmark: `pnpm start`'s whole run on the real sample (the lab7 exports when
 * present, else a generated 5,000-trip set), or on N generated trips (`pnpm bench --trips N`, the
 * scale benchmark), against the emulators' ceiling measured right after in the same process: the
 * minimum emulator operations for the same data, alone. That process is a fresh one started as
 * `pnpm start` starts (its node flags from package.json), so the figure is the command's, not
 * that of a process which has just ingested 5 million rows (`node scripts/run.mjs bench-pipeline
 * [--trips N]` runs it alone). Generated data goes to a temporary folder, never into the repository.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { tripCount } from "@trip-pipeline/core/kpi/registry";
import type { CeilingResult } from "@trip-pipeline/local/ceiling";
import { groundTruth, writeTripFiles } from "@trip-pipeline/local/generate";
import { loadConsumerHandlers } from "@trip-pipeline/local/runtime";
import { intOption, parseCli, REPO_ROOT, runCliChild, runWhenMain } from "../lib/cli.js";
import { EXIT } from "../lib/exit-codes.js";
import { onDiskByDefault, run } from "../start.js";

const REAL_SAMPLE = process.env.TRIP_PIPELINE_SAMPLE_DIR ?? join(REPO_ROOT, "..", "shared", "data", "lab7");

export interface PipelineBench {
  name: "pipeline";
  data: string;
  /** Where the run and its ceilings kept the table and the stream. */
  storage: "in memory" | "on disk";
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** The run's peak RSS and its live heap after full collections (both threads). */
  peakRssMb: number;
  heapAfterGcMb: number;
  completedTrips: number;
  /** The pipeline's DynamoDB calls per completed trip, counted at the emulator (the ceiling makes 1 Query per trip). */
  queriesPerTrip: number;
  writesPerTrip: number;
  ceilingSeconds: number;
  ceilingEventsPerSecond: number;
  /** Run speed over ceiling speed (goal >= 0.8; the ceiling runs on one thread, the run on both cores). */
  ceilingRatio: number;
  /** The same minimum calls made as the local AWS makes them (in process, no HTTP, no signature), one thread: a minimum that shares the run's per-call cuts (not measured at scale: it would double the wait). */
  inProcessCeilingSeconds?: number;
  inProcessCeilingRatio?: number;
  /** What a user checks first: the run's exit state (drift, records left in the DLQ) and, on generated data, whether its KPIs equal the generator's ground truth (computed from the trip model, not from the files). */
  drift: number;
  dlq: number;
  kpisEqualGroundTruth?: boolean;
  /** The machine's 1-minute load average at the end: the figures are only comparable within one run. */
  loadAverage: number;
  ceilingPhases: Record<string, number>;
  /** Live KPI aggregate writes per completed trip (goal <= 0.05), aggregator at its deployed window. */
  liveKpiWritesPerTrip: number;
  summary: string;
}

/** `trips`: the scale benchmark on that many generated trips instead of the sample. */
export async function benchPipeline(options: { trips?: number } = {}): Promise<PipelineBench> {
  return JSON.parse(
    await runCliChild("start", "bench-pipeline", options.trips === undefined ? [] : ["--trips", String(options.trips)]),
  ) as PipelineBench;
}

/** The ceiling in a child process with the default heaps (this one has `pnpm start`'s). */
async function ceilingOf(files: { startFile: string; endFile: string }, flags: string[] = []): Promise<CeilingResult> {
  const args = ["--start-file", files.startFile, "--end-file", files.endFile, ...flags];
  return JSON.parse(await runCliChild("bench", "bench-ceiling", args)) as CeilingResult;
}

/** The machine's 1-minute load average now. */
const load = () => Math.round(loadavg()[0]! * 10) / 10;
const perTrip = (count: number, trips: number) => Math.round((count / Math.max(1, trips)) * 1000) / 1000;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

async function measurePipeline(trips: number | undefined): Promise<PipelineBench> {
  const work = await mkdtemp(join(tmpdir(), "trip-bench-"));
  try {
    const real = trips === undefined && existsSync(join(REAL_SAMPLE, "trip_start.csv"));
    const generated = { trips: trips ?? 5_000, days: 3, seed: 7, startDate: "2024-02-28" };
    const files = real
      ? { startFile: join(REAL_SAMPLE, "trip_start.csv"), endFile: join(REAL_SAMPLE, "trip_end.csv") }
      : await writeTripFiles({ ...generated, outDir: join(work, "data") });
    // The handler bundles are built on the first run after a change: not part of the figure.
    await loadConsumerHandlers(REPO_ROOT);
    const loadBefore = load();
    // As `pnpm start` runs them: large exports with the table and stream on disk.
    const onDisk = onDiskByDefault(files.startFile, files.endFile);
    const report = await run({ ...files, root: join(work, "local"), keep: false, batchingWindowMs: 100, onDisk });
    // The same emulators as the run: on disk when it was (LevelDB costs both alike).
    const storage = onDisk ? ["--on-disk"] : [];
    const ceiling = await ceilingOf(files, storage);
    const inProcess = trips === undefined ? await ceilingOf(files, ["--in-process", ...storage]) : undefined;
    const ceilingEventsPerSecond = Math.round(ceiling.events / ceiling.seconds);
    const ratio = (seconds: number) => Math.round((seconds / report.seconds) * 100) / 100;
    const ceilingRatio = ratio(ceiling.seconds);
    const data = real
      ? REAL_SAMPLE
      : `generated ${generated.trips.toLocaleString("en-US")} trips over ${generated.days} days (seed ${generated.seed})`;
    const completed = report.kpis.reduce((sum, k) => sum + tripCount(k), 0);
    const kpisEqualGroundTruth = real ? undefined : isDeepStrictEqual(report.kpis, groundTruth(generated).kpis);
    const liveKpiWritesPerTrip = perTrip(report.liveKpiWrites, completed);
    const loadAverage = load();
    const figures = {
      peakRssMb: mb(report.memory.peak_rss_bytes),
      heapAfterGcMb: mb(report.memory.heap_after_gc_bytes),
      completedTrips: completed,
      queriesPerTrip: perTrip(report.dynamodb.queries, completed),
      writesPerTrip: perTrip(report.dynamodb.writes, completed),
    };
    const inProcessFigures = inProcess && {
      inProcessCeilingSeconds: Math.round(inProcess.seconds * 100) / 100,
      inProcessCeilingRatio: ratio(inProcess.seconds),
    };
    return {
      name: "pipeline",
      data,
      storage: onDisk ? "on disk" : "in memory",
      events: report.events,
      seconds: report.seconds,
      eventsPerSecond: report.eventsPerSecond,
      ...figures,
      ceilingSeconds: Math.round(ceiling.seconds * 100) / 100,
      ceilingEventsPerSecond,
      ceilingRatio,
      ...inProcessFigures,
      drift: report.drift,
      dlq: report.dlq,
      kpisEqualGroundTruth,
      loadAverage,
      ceilingPhases: Object.fromEntries(
        Object.entries(ceiling.phases).map(([phase, seconds]) => [phase, Math.round(seconds * 100) / 100]),
      ),
      liveKpiWritesPerTrip,
      summary:
        `pipeline: ${report.events} events end to end in ${report.seconds} s = ${report.eventsPerSecond} events/s (peak RSS ${figures.peakRssMb} MB, heap after GC ${figures.heapAfterGcMb} MB); ` +
        `emulator ceiling ${ceilingEventsPerSecond} events/s (${Math.round(ceiling.seconds * 100) / 100} s, one thread, HTTP); ratio ${ceilingRatio} (goal >= 0.8); ` +
        (inProcessFigures
          ? `against the same calls in process with the local client configuration (${inProcessFigures.inProcessCeilingSeconds} s, one thread): ratio ${inProcessFigures.inProcessCeilingRatio}; `
          : "") +
        `per completed trip ${figures.queriesPerTrip} Queries and ${figures.writesPerTrip} item writes (${completed} trips; the ceiling: 1 Query); ` +
        `live KPI writes per completed trip ${liveKpiWritesPerTrip} (${report.liveKpiWrites} for ${completed}; goal <= 0.05); ` +
        `drift ${report.drift}, DLQ ${report.dlq}` +
        (kpisEqualGroundTruth === undefined
          ? ""
          : `, KPIs ${kpisEqualGroundTruth ? "equal" : "DIFFER FROM"} the generator's ground truth`) +
        ` [${data}; table and stream ${onDisk ? "on disk" : "in memory"}, the ceiling's too; load average ${loadBefore} before, ${loadAverage} after, on ${cpus().length} cores]`,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const launch = runWhenMain(
  import.meta.url,
  {
    command: "node scripts/run.mjs bench-pipeline",
    synopsis: ["[--trips N]"],
    about:
      "The end-to-end benchmark alone: `pnpm start`'s run on the sample (or N generated trips) against the emulators' ceiling; one JSON line on stdout (the form `pnpm bench` reads).",
    options: [["--trips N", "N generated trips instead of the sample"]],
  },
  async (argv) => {
    const trips = intOption("trips", parseCli(argv, { trips: { type: "string" } }).trips, 1);
    process.stdout.write(`${JSON.stringify(await measurePipeline(trips))}\n`);
    return EXIT.done;
  },
);
