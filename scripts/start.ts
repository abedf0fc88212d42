/**
 * pnpm start: the whole pipeline offline, in this process, on an embedded local AWS (see
 * packages/local/src/runtime.ts): ingest into Kinesis, the two stream consumers and the
 * matcher run by the local event-source runtime with the deployed handler modules, then the KPI
 * job once every stream is drained. Prints the KPIs, the ingest summary, pending trips,
 * anomalies and where the outputs are; `--json` prints one JSON document on stdout instead.
 *
 * Exit codes: 0 done; 2 done, but records ended in the DLQ or valid rows failed delivery
 * (see the printed locations); 1 usage or input error.
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, FailedTrail, FolderBlobStore } from "@trip-pipeline/core";
import { ingestFiles, KinesisRecordSink, type IngestSummary } from "@trip-pipeline/core/ingest";
import type { DailyKpi } from "@trip-pipeline/core/kpi";
import { runLocalKpiJob } from "@trip-pipeline/local/kpi-job";
import { anomalyTrips, pendingTrips } from "@trip-pipeline/local/outcome";
import { LocalAws, type LocalAwsStats } from "@trip-pipeline/local/runtime";
import { table as ingestTable } from "./ingest.js";
import { intOption, parseCli, runWhenMain, UsageError } from "./lib/cli.js";
import { formatTable } from "./lib/table.js";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export const USAGE = `usage: pnpm start [--start-file F --end-file F] [--json] [--keep] [--out DIR] [options]

  --start-file F, --end-file F   the two CSV exports (default: the sample in data/)
  --json                         print exactly one JSON document on stdout (logs stay on stderr)
  --keep                         keep the run's data (bucket folder, DLQ) for inspection
  --out DIR                      the run's folder (default .local); emptied when a run starts
  --kinesis-shards N             shards of the local stream (default: as a non-prod stage deploys it)
  --batching-window-ms N         consumers' batching window (default 100; deployed: 1000)
  --verbose                      every handler's JSON log lines on stderr (default: warnings and errors;
                                 LOG_LEVEL overrides both)
fault injection (the pipeline must converge to the same KPIs):
  --throttle RATE                fraction of emulator calls answered ProvisionedThroughputExceeded
  --crash RATE                   fraction of handler invocations that crash at a random point
  --seed N                       seed of the injected faults (default 1)

exit codes: 0 done, 2 done but records in the DLQ or rows undelivered, 1 error`;

const OPTIONS = {
  "start-file": { type: "string" },
  "end-file": { type: "string" },
  json: { type: "boolean", default: false },
  keep: { type: "boolean", default: false },
  out: { type: "string" },
  "kinesis-shards": { type: "string" },
  "batching-window-ms": { type: "string" },
  throttle: { type: "string" },
  crash: { type: "string" },
  seed: { type: "string" },
  verbose: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

/** What `--json` prints: money as text with 2 decimals, as the KPI job computes it. */
export interface RunReport {
  kpis: DailyKpi[];
  ingest: IngestSummary;
  pending: number;
  anomalies: number;
  /** Records the consumers gave up on (on-failure destination). */
  dlq: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  outputs: { root: string; metrics: string[]; failed: string; dlq: string; kept: boolean };
  consumers: LocalAwsStats["consumers"];
  throttled: LocalAwsStats["throttled"];
}

function rateOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const rate = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || rate < 0 || rate >= 1) throw new UsageError(`--${name} must be a fraction from 0 to below 1, got ${JSON.stringify(text)}`);
  return rate;
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ((values["start-file"] === undefined) !== (values["end-file"] === undefined)) throw new UsageError("give both --start-file and --end-file, or neither");
  const startFile = values["start-file"] ?? join(REPO_ROOT, "data", "trip_start.csv");
  const endFile = values["end-file"] ?? join(REPO_ROOT, "data", "trip_end.csv");
  const throttle = rateOption("throttle", values.throttle);
  const crash = rateOption("crash", values.crash);
  const seed = intOption("seed", values.seed, 0) ?? 1;
  // The handlers log one line per batch at info: useful in CloudWatch, noise in a terminal.
  // Loggers are created on first use, so this reaches every handler.
  process.env.LOG_LEVEL ??= values.verbose ? "info" : "warn";
  // The pinned SDK runs on Node 20; its notice is about future releases, not this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  const report = await run({
    startFile,
    endFile,
    root: values.out ?? ".local",
    keep: values.keep,
    kinesisShards: intOption("kinesis-shards", values["kinesis-shards"], 1),
    batchingWindowMs: intOption("batching-window-ms", values["batching-window-ms"], 0) ?? 100,
    throttle: throttle ? { rate: throttle, seed } : undefined,
    crashes: crash ? { rate: crash, seed: seed + 1 } : undefined,
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : humanReport(report));
  const undelivered = report.ingest.start.failed + report.ingest.end.failed;
  return report.dlq > 0 || undelivered > 0 ? 2 : 0;
}

export interface RunOptions {
  startFile: string;
  endFile: string;
  root: string;
  keep: boolean;
  kinesisShards?: number;
  batchingWindowMs: number;
  throttle?: { rate: number; seed: number };
  crashes?: { rate: number; seed: number };
}

/** The whole pipeline once, on a fresh local AWS. */
export async function run(options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const logger = createLogger("start");
  const aws = await LocalAws.start({ root: options.root, kinesisShards: options.kinesisShards, throttle: options.throttle, logger });
  try {
    await aws.startConsumers({ repoRoot: REPO_ROOT, batchingWindowMs: options.batchingWindowMs, crashes: options.crashes });
    const bucket = new FolderBlobStore(aws.bucketDir);
    const ingest = await ingestFiles({
      startFile: options.startFile,
      endFile: options.endFile,
      sink: new KinesisRecordSink(aws.kinesis, aws.streamName),
      trail: new FailedTrail(bucket),
      logger,
    });
    await aws.drain();
    logger.info("streams drained; running the KPI job");
    const { kpis, outputs } = await runLocalKpiJob(aws.db, aws.tableName, bucket);
    const anomalies = await anomalyTrips(bucket);
    const pending = await pendingTrips(aws.db, aws.tableName, anomalies);
    const stats = aws.stats();
    const seconds = (performance.now() - started) / 1000;
    const events = ingest.start.sent + ingest.end.sent;
    const shown = (path: string) => relative(process.cwd(), path) || ".";
    return {
      kpis,
      ingest,
      pending: pending.length,
      anomalies: anomalies.size,
      dlq: Object.values(stats.consumers).reduce((sum, consumer) => sum + consumer.toDlq, 0),
      events,
      seconds: Math.round(seconds * 100) / 100,
      eventsPerSecond: Math.round(events / seconds),
      outputs: {
        root: shown(aws.root),
        metrics: outputs.map((key) => shown(join(aws.bucketDir, key))),
        failed: shown(join(aws.bucketDir, "failed")),
        dlq: shown(aws.dlqDir),
        kept: options.keep,
      },
      consumers: stats.consumers,
      throttled: stats.throttled,
    };
  } finally {
    await aws.close({ keepData: options.keep });
  }
}

function humanReport(report: RunReport): string {
  const kpis = formatTable([
    ["pickup_date", "trips", "total_fare", "average_fare", "max_fare", "min_fare"],
    ...report.kpis.map((k) => [k.pickup_date, String(k.trip_count), k.total_fare, k.average_fare, k.max_fare, k.min_fare]),
  ]);
  const consumers = formatTable([
    ["consumer", "delivered", "filtered", "invocations", "retries", "crashes", "dlq"],
    ...Object.entries(report.consumers).map(([name, c]) => [name, ...[c.delivered, c.filteredOut, c.invocations, c.retries, c.crashes, c.toDlq].map(String)]),
  ]);
  const { outputs } = report;
  const where = outputs.kept ? "" : " (removed after the run: add --keep to inspect)";
  return [
    `Daily KPIs (pickup day, UTC)\n${report.kpis.length > 0 ? kpis : "no completed trips\n"}`,
    `Ingest\n${ingestTable(report.ingest)}`,
    `Trips: ${report.kpis.reduce((sum, k) => sum + k.trip_count, 0)} completed, ${report.pending} pending (unmatched), ${report.anomalies} anomalies (dropoff before pickup)\n`,
    `Consumers\n${consumers}`,
    `Outputs${where}\n  metrics    ${outputs.metrics.join("\n             ") || "-"}\n  failed     ${outputs.failed}/ (rejected rows, anomalies)\n  dlq        ${outputs.dlq}/ (${report.dlq} records)\n`,
    `${report.events} events in ${report.seconds} s (${report.eventsPerSecond} events/s)\n`,
  ].join("\n");
}

runWhenMain(import.meta.url, USAGE, main);
