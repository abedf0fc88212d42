/**
 * The end-to-end benchmark: `pnpm start`'s whole run on the real sample (the lab7 exports when
 * present, else a generated 5,000-trip set), against the emulators' ceiling measured right after
 * in the same process: the minimum emulator operations for the same data, alone. That process is
 * a fresh one started as `pnpm start` starts (its node flags from package.json), so the figure is
 * the command's, not that of a process which has just ingested 5 million rows
 * (`node scripts/run.mjs bench-pipeline` runs it alone).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { writeTripFiles } from "@trip-pipeline/local/generate";
import { measureCeiling } from "@trip-pipeline/local/ceiling";
import { importHandler } from "@trip-pipeline/local/lambda";
import { CONSUMERS } from "@trip-pipeline/core/pipeline-spec";
import { tripCount } from "@trip-pipeline/core/kpi-registry";
import { REPO_ROOT, runCliChild, runWhenMain } from "../lib/cli.js";
import { run } from "../start.js";

const REAL_SAMPLE = process.env.TRIP_PIPELINE_SAMPLE_DIR ?? join(REPO_ROOT, "..", "shared", "data", "lab7");

export interface PipelineBench {
  name: "pipeline";
  data: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  peakRssMb: number;
  ceilingSeconds: number;
  ceilingEventsPerSecond: number;
  /** Run speed over ceiling speed (goal >= 0.8; the ceiling runs on one thread, the run on both cores). */
  ceilingRatio: number;
  /** The same minimum calls made as the local AWS makes them (in process, no HTTP, no signature), one thread: a minimum that shares the run's per-call cuts. */
  inProcessCeilingSeconds: number;
  inProcessCeilingRatio: number;
  /** The machine's 1-minute load average at the end: the figures are only comparable within one run. */
  loadAverage: number;
  ceilingPhases: Record<string, number>;
  /** Live KPI aggregate writes per completed trip (goal <= 0.05), aggregator at its deployed window. */
  liveKpiWritesPerTrip: number;
  summary: string;
}

export async function benchPipeline(): Promise<PipelineBench> {
  return JSON.parse(await runCliChild("start", "bench-pipeline", [])) as PipelineBench;
}

async function measurePipeline(): Promise<PipelineBench> {
  const work = await mkdtemp(join(tmpdir(), "trip-bench-"));
  try {
    const real = existsSync(join(REAL_SAMPLE, "trip_start.csv"));
    const files = real
      ? { startFile: join(REAL_SAMPLE, "trip_start.csv"), endFile: join(REAL_SAMPLE, "trip_end.csv") }
      : await writeTripFiles({ trips: 5_000, days: 3, seed: 7, startDate: "2024-02-28", outDir: join(work, "data") });
    // The handler bundles are built on the first run after a change: not part of the figure.
    for (const consumer of Object.values(CONSUMERS)) await importHandler(REPO_ROOT, consumer.handler);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    const report = await run({ ...files, root: join(work, "local"), keep: false, batchingWindowMs: 100 }).finally(() => clearInterval(sampler));
    const ceiling = await measureCeiling(files.startFile, files.endFile);
    const inProcess = await measureCeiling(files.startFile, files.endFile, { dynamodb: "in-process" });
    const ceilingEventsPerSecond = Math.round(ceiling.events / ceiling.seconds);
    const ratio = (seconds: number) => Math.round((seconds / report.seconds) * 100) / 100;
    const ceilingRatio = ratio(ceiling.seconds);
    const inProcessCeilingRatio = ratio(inProcess.seconds);
    const data = real ? REAL_SAMPLE : "generated 5,000 trips (seed 7)";
    const completed = report.kpis.reduce((sum, k) => sum + tripCount(k), 0);
    const liveKpiWritesPerTrip = Math.round((report.liveKpiWrites / Math.max(1, completed)) * 1000) / 1000;
    const loadAverage = Math.round(loadavg()[0]! * 10) / 10;
    return {
      name: "pipeline",
      data,
      events: report.events,
      seconds: report.seconds,
      eventsPerSecond: report.eventsPerSecond,
      peakRssMb: Math.round(peakRss / 2 ** 20),
      ceilingSeconds: Math.round(ceiling.seconds * 100) / 100,
      ceilingEventsPerSecond,
      ceilingRatio,
      inProcessCeilingSeconds: Math.round(inProcess.seconds * 100) / 100,
      inProcessCeilingRatio,
      loadAverage,
      ceilingPhases: Object.fromEntries(Object.entries(ceiling.phases).map(([phase, seconds]) => [phase, Math.round(seconds * 100) / 100])),
      liveKpiWritesPerTrip,
      summary:
        `pipeline: ${report.events} events end to end in ${report.seconds} s = ${report.eventsPerSecond} events/s (peak RSS ${Math.round(peakRss / 2 ** 20)} MB); ` +
        `emulator ceiling ${ceilingEventsPerSecond} events/s (${Math.round(ceiling.seconds * 100) / 100} s, one thread, HTTP); ratio ${ceilingRatio} (goal >= 0.8; end to end goal <= 15 s); ` +
        `against the same calls in process with the local client configuration (${Math.round(inProcess.seconds * 100) / 100} s, one thread): ratio ${inProcessCeilingRatio}; ` +
        `live KPI writes per completed trip ${liveKpiWritesPerTrip} (${report.liveKpiWrites} for ${completed}; goal <= 0.05) [${data}; load average ${loadAverage} on ${cpus().length} cores]`,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

runWhenMain("bench-pipeline", import.meta.url, "usage: node scripts/run.mjs bench-pipeline", async () => {
  process.stdout.write(`${JSON.stringify(await measurePipeline())}\n`);
  return 0;
});
