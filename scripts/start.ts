/**
 * pnpm start: the whole pipeline offline, in this process, on an embedded local AWS (see
 * packages/local/src/runtime.ts): ingest into Kinesis, the two stream consumers, the matcher
 * and the live KPI aggregator run by the local event-source runtime with the deployed handler
 * modules, then the KPI job once every stream is drained, and the reconciliation of the live
 * KPIs with it. Prints the nightly and live KPIs, the ingest summary, pending trips,
 * anomalies and where the outputs are; `--json` prints one JSON document on stdout instead.
 * Handler logs go to <out>/logs/<function>.jsonl (the local CloudWatch); on a terminal one
 * progress line shows the run as it goes.
 *
 * Exit codes: scripts/lib/exit-codes.ts; HELP.failures says what "done, but" means here.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatDateTime } from "@trip-pipeline/core/domain/datetime";
import { type IngestSummary, ingestFiles } from "@trip-pipeline/core/ingest/ingest";
import { KinesisRecordSink } from "@trip-pipeline/core/ingest/sink";
import type { DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { KPI_COLUMNS, tripCount } from "@trip-pipeline/core/kpi/registry";
import { type LiveRow, reconcileKpis } from "@trip-pipeline/core/live/drift";
import { readDailyKpis } from "@trip-pipeline/core/nightly/kpi-rows-reader";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { CONSUMERS, TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import type { DynamoDbBehaviours, DynamoDbUsage } from "@trip-pipeline/local/embedded-dynamodb";
import { liveKpiDays, runLocalKpiJob } from "@trip-pipeline/local/kpi-job";
import { LocalLogs } from "@trip-pipeline/local/logs";
import { HeapAfterGc, peakRssBytes } from "@trip-pipeline/local/memory";
import { anomalyTrips, LivePending, pendingTrips } from "@trip-pipeline/local/outcome";
import {
  CONSUMER_NAMES,
  type ConsumerName,
  LocalAws,
  type LocalAwsStats,
  loadConsumerHandlers,
} from "@trip-pipeline/local/runtime";
import { table as ingestTable } from "./ingest.js";
import { intOption, parseCli, REPO_ROOT, runWhenMain, displayPath as shown, UsageError } from "./lib/cli.js";
import { DEFAULT_PORT, HOST, LocalDashboard } from "./lib/dashboard-server.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";
import { checkInputFile, checkPortFree } from "./lib/preflight.js";
import { createStatusLine, type StatusLine } from "./lib/progress.js";
import { count, formatTable, kpiCells } from "./lib/table.js";
import { DEFAULT_TRAIL_DIR } from "./lib/target.js";

/** Input size from which the emulated table and stream go on disk by default: the same speed as in memory at 10,000 trips, a fraction of the memory. */
const ON_DISK_FROM_MB = 15;

export const HELP: Help = {
  command: "pnpm start",
  synopsis: ["[--start-file F --end-file F] [--json] [--keep] [--serve [--port N]] [options]"],
  about:
    "Runs the whole pipeline offline on an embedded local AWS: ingests the two CSV exports into Kinesis, runs the stream consumers, the matcher and the nightly KPI job as Lambda and Glue would, and prints the KPIs, the ingest summary, pending trips and anomalies.",
  options: [
    ["--start-file F, --end-file F", "the two CSV exports (default: the 2,000-trip sample in data/)"],
    ["--json", "print exactly one JSON document on stdout (logs stay in files)"],
    ["--keep", "keep the run's data (bucket folder, DLQ) for inspection"],
    ["--out DIR", "the run's folder (default .local); emptied when a run starts"],
    ["--kinesis-shards N", "shards of the local stream (default: as a non-prod stage deploys it)"],
    [
      "--on-disk, --in-memory",
      `keep the emulated table and Kinesis stream in LevelDB folders (<out>/table, <out>/stream), or in memory (default: on disk from ${ON_DISK_FROM_MB} MB of input, about 100,000 trips, where the table would be most of the run's memory)`,
    ],
    ["--batching-window-ms N", "consumers' batching window (default 100; deployed: 1000)"],
    ["--live-window-ms N", "the live KPI aggregator's batching window (default: as deployed, 5000)"],
    [
      "--serve",
      "the dashboard (page and API) on 127.0.0.1 while the run ingests, and after it until Ctrl-C; prints the page's address and a local Kinesis endpoint for `pnpm ingest --endpoint`",
    ],
    ["--port N", `the dashboard's port (default ${DEFAULT_PORT}; 0 picks a free one)`],
    [
      "--verbose",
      "stream every log line, pretty-printed, to stderr (they always go to <out>/logs/<function>.jsonl; LOG_LEVEL sets the level, default info)",
    ],
    "fault injection (the pipeline must converge to the same KPIs; with either fault, Queries are also torn: pages of one or two items, each item read at its own instant, as DynamoDB may serve them):",
    ["--throttle RATE", "fraction of emulator calls answered ProvisionedThroughputExceeded"],
    ["--crash RATE", "fraction of handler invocations that crash at a random point"],
    [
      "--outage FUNCTION",
      `that consumer fails every invocation until half the input is ingested and at least one of its batches went to the DLQ (${CONSUMER_NAMES.join(", ")})`,
    ],
    [
      "--redrive",
      "after the drain, replay every batch in the DLQ as `pnpm redrive` does, then drain again; the DLQ count and exit code are what is left after it",
    ],
    [
      "--reorder",
      "a batch delivered again after a failure (retry, bisected half, replay) comes in a shuffled order, as AWS may deliver it",
    ],
    [
      "--shard-rollover N",
      "every stream shard (Kinesis and the table's) closes after N records and a child shard with a new id continues",
    ],
    ["--seed N", "seed of the injected faults and of --reorder (default 1)"],
    "AWS behaviours the local AWS emulates when asked (the pipeline must hold under them):",
    ["--gsi-lag-ms N", "index reads see a write only N ms after it happened (default 0)"],
    [
      "--ttl",
      "items whose expires_at has passed (wall clock) are deleted within about a second, with the REMOVE records TTL produces",
    ],
  ],
  failures:
    "records are left in the DLQ, rows were undelivered, or the live KPIs drift from the nightly ones or are still settling",
};

const OPTIONS = {
  "start-file": { type: "string" },
  "end-file": { type: "string" },
  json: { type: "boolean", default: false },
  keep: { type: "boolean", default: false },
  out: { type: "string" },
  "kinesis-shards": { type: "string" },
  "on-disk": { type: "boolean", default: false },
  "in-memory": { type: "boolean", default: false },
  "batching-window-ms": { type: "string" },
  "live-window-ms": { type: "string" },
  throttle: { type: "string" },
  crash: { type: "string" },
  seed: { type: "string" },
  outage: { type: "string" },
  redrive: { type: "boolean", default: false },
  reorder: { type: "boolean", default: false },
  "shard-rollover": { type: "string" },
  "gsi-lag-ms": { type: "string" },
  ttl: { type: "boolean", default: false },
  serve: { type: "boolean", default: false },
  port: { type: "string" },
  verbose: { type: "boolean", default: false },
} as const;

/** What `--json` prints: money as text with 2 decimals, as the KPI job computes it. */
export interface RunReport {
  kpis: DailyKpi[];
  /** The live KPIs (kpiAggregator's read model) of every day either side has, in the same shape plus `settling`. */
  live: LiveRow[];
  /** Days on which live and nightly KPIs differ (the KpiDrift metric); 0 after every run. */
  drift: number;
  /** Days whose live figures were still settling after the drain (a shard or the index behind): none after a healthy run. */
  unsettled: string[];
  /** Writes to the live KPI items (applied updates of SHARD# and EXTREMES items). */
  liveKpiWrites: number;
  /** Items deleted by TTL during the run (with --ttl). */
  ttlDeletes: number;
  ingest: IngestSummary;
  pending: number;
  anomalies: number;
  /** Records left in the on-failure destination (the DLQ) at the end of the run, after --redrive if given. */
  dlq: number;
  /** What --redrive replayed: the failed batches and records it found, and what it left. */
  redrive?: RedriveSummary;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  outputs: { root: string; metrics: string[]; failed: string; dlq: string; kept: boolean };
  /** Per consumer (a list, so that a JSON reader's keys are field names, never function names). */
  consumers: ({ name: string } & LocalAwsStats["consumers"][string])[];
  throttled: LocalAwsStats["throttled"];
  /** With --serve: the local Kinesis that keeps serving after the run (for `pnpm ingest --endpoint`) and the bucket folder for its trail. */
  serving?: { kinesisEndpoint: string; stream: string; trailDir: string };
  /** What the run cost the table: DynamoDB calls by operation, and item changes (stream records) by kind of sort key. */
  /** The local CloudWatch: per log (function, or the runner), its file and the warnings and errors in it. */
  logs: { name: string; warnings: number; path: string }[];
  memory: RunMemory;
  /** The pipeline's DynamoDB calls, counted at the emulator up to the drain (the KPI job's and the report's reads are not in it). */
  dynamodb: DynamoDbUsage;
}

/** What the run held: what a machine running it needs. */
export interface RunMemory {
  /** The process's largest resident set (both threads; the run starts no other process). */
  peak_rss_bytes: number;
  /** The live data: each thread's largest heap right after a full collection, summed. */
  heap_after_gc_bytes: number;
  heap_after_gc_by_thread: { main: number; emulators: number };
}

export interface RedriveSummary {
  /** Redrive runs: another follows while one left records and replayed some (a replay crashed). */
  rounds: number;
  /** Failed batches and their records found by the first run. */
  batches: number;
  records: number;
  /** Records replayed over all runs. */
  replayed: number;
  /** Records the last run could not replay. */
  remaining: number;
}

/** Whether a run on these exports keeps the table and stream on disk unless told otherwise. */
export function onDiskByDefault(startFile: string, endFile: string): boolean {
  return bytesOf(startFile) + bytesOf(endFile) >= ON_DISK_FROM_MB * 2 ** 20;
}

/** A file's size; 0 when it cannot be read (ingest then reports it). */
function bytesOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function rateOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const rate = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || rate < 0 || rate >= 1)
    throw new UsageError(`--${name} must be a fraction from 0 to below 1, got ${JSON.stringify(text)}`);
  return rate;
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  if ((values["start-file"] === undefined) !== (values["end-file"] === undefined))
    throw new UsageError("give both --start-file and --end-file, or neither");
  const startFile = values["start-file"] ?? join(REPO_ROOT, "data", "trip_start.csv");
  const endFile = values["end-file"] ?? join(REPO_ROOT, "data", "trip_end.csv");
  const throttle = rateOption("throttle", values.throttle);
  const crash = rateOption("crash", values.crash);
  const seed = intOption("seed", values.seed, 0) ?? 1;
  if (values.port !== undefined && !values.serve) throw new UsageError("--port goes with --serve");
  if (values["on-disk"] && values["in-memory"]) throw new UsageError("give --on-disk or --in-memory, not both");
  const outage = values.outage;
  if (outage !== undefined && !CONSUMER_NAMES.includes(outage as ConsumerName))
    throw new UsageError(`--outage must name a consumer (${CONSUMER_NAMES.join(", ")}), got ${JSON.stringify(outage)}`);
  const port = intOption("port", values.port, 0) ?? DEFAULT_PORT;
  // Before the emulators start: a mistake in a path or a busy port is one line, not a failure halfway.
  checkInputFile("start-file", startFile);
  checkInputFile("end-file", endFile);
  if (values.serve) await checkPortFree(port, HOST);
  const dashboard = values.serve ? new LocalDashboard(REPO_ROOT, port) : undefined;
  // Loggers are created on first use, so this reaches every handler.
  process.env.LOG_LEVEL ??= "info";

  const report = await run(
    {
      startFile,
      endFile,
      root: values.out ?? ".local",
      keep: values.keep,
      kinesisShards: intOption("kinesis-shards", values["kinesis-shards"], 1),
      onDisk: values["on-disk"] || (!values["in-memory"] && onDiskByDefault(startFile, endFile)),
      batchingWindowMs: intOption("batching-window-ms", values["batching-window-ms"], 0) ?? 100,
      liveWindowMs: intOption("live-window-ms", values["live-window-ms"], 0),
      throttle: throttle ? { rate: throttle, seed } : undefined,
      crashes: crash ? { rate: crash, seed: seed + 1 } : undefined,
      outage: outage as ConsumerName | undefined,
      redrive: values.redrive,
      reorderSeed: values.reorder ? seed + 2 : undefined,
      shardRollover: intOption("shard-rollover", values["shard-rollover"], 1),
      dynamodb: {
        gsiLagMs: intOption("gsi-lag-ms", values["gsi-lag-ms"], 0),
        ttl: values.ttl ? {} : undefined,
        // Fault runs also get Queries that are not snapshots: what the handlers must hold under.
        tornReads: throttle || crash ? { seed: seed + 2 } : undefined,
      },
      verbose: values.verbose,
      // One line redrawn in place: only on a terminal, and not under a stream of log lines.
      status:
        process.stderr.isTTY && !values.verbose && !values.json ? createStatusLine(process.stderr, true) : undefined,
    },
    dashboard,
  );
  process.stdout.write(values.json ? jsonDocument(report) : humanReport(report));
  if (dashboard) {
    (values.json ? process.stderr : process.stdout).write(
      `Dashboard: ${dashboard.viewUrl()} (serving until Ctrl-C)\n${servingKinesis(report.serving!)}`,
    );
    await dashboard.untilInterrupted();
  }
  const undelivered = report.ingest.start.failed + report.ingest.end.failed;
  return report.dlq > 0 || undelivered > 0 || report.drift > 0 || report.unsettled.length > 0
    ? EXIT.failures
    : EXIT.done;
}

export interface RunOptions {
  startFile: string;
  endFile: string;
  root: string;
  keep: boolean;
  kinesisShards?: number;
  /** The emulated table and stream in LevelDB folders under root rather than in memory. */
  onDisk?: boolean;
  batchingWindowMs: number;
  /** The aggregator's window; default as deployed (one write per day and batch: bigger batches, fewer writes). */
  liveWindowMs?: number;
  throttle?: { rate: number; seed: number };
  crashes?: { rate: number; seed: number };
  /** The consumer down until half the input is ingested. */
  outage?: ConsumerName;
  /** Replay the DLQ after the drain. */
  redrive?: boolean;
  /** Re-deliveries come shuffled, with this seed. */
  reorderSeed?: number;
  shardRollover?: number;
  /** GSI lag, TTL and torn Queries (see LocalAwsOptions). */
  dynamodb?: DynamoDbBehaviours;
  /** Stream the log lines, pretty-printed, to stderr as well. */
  verbose?: boolean;
  /** Where the run shows its progress (rows ingested, events delivered, pending trips). */
  status?: StatusLine;
}

/** How often the progress line is redrawn. */
const STATUS_MS = 200;

/** The whole pipeline once, on a fresh local AWS; with a dashboard, its local AWS stays up for it. */
export async function run(options: RunOptions, dashboard?: LocalDashboard): Promise<RunReport> {
  const started = performance.now();
  const logs = new LocalLogs({ dir: join(options.root, "logs"), pretty: options.verbose ? process.stderr : undefined });
  const logger = createLogger("start", {}, logs.destination);
  const heap = new HeapAfterGc();
  // The handler bundles compile on this thread while the emulators start on theirs.
  const handlers = loadConsumerHandlers(REPO_ROOT);
  handlers.catch(() => undefined); // awaited in the try below, which closes the local AWS on failure
  const aws = await LocalAws.start({
    root: options.root,
    kinesisShards: options.kinesisShards,
    onDisk: options.onDisk,
    throttle: options.throttle,
    shardRollover: options.shardRollover,
    logger,
    logDestination: logs.destination,
    ...options.dynamodb,
  });
  const pending = new LivePending();
  aws.changes.onRecord = (record) => pending.observe(record);
  let rows = 0;
  let halfIngested = false;
  const status = options.status;
  const draw = () => {
    const stats = aws.stats();
    status?.show(
      progressLine(rows, stats.consumers, pending.count, {
        rss: process.memoryUsage.rss(),
        heapAfterGc: heap.latest + stats.emulatorHeapAfterGc.latest,
      }),
    );
  };
  const redraw = status && setInterval(draw, STATUS_MS);
  let served = false;
  try {
    await aws.startConsumers({
      repoRoot: REPO_ROOT,
      loaded: await handlers,
      batchingWindowMs: options.batchingWindowMs,
      batchingWindows: {
        kpiAggregator: options.liveWindowMs ?? CONSUMERS.kpiAggregator.maxBatchingWindowSeconds * 1000,
      },
      crashes: options.crashes,
      outage: options.outage && { consumer: options.outage, until: () => halfIngested },
      reorder: options.reorderSeed === undefined ? undefined : { seed: options.reorderSeed },
    });
    await dashboard?.attach(aws);
    const bucket = new FolderBlobStore(aws.bucketDir);
    const ingest = await ingestFiles({
      startFile: options.startFile,
      endFile: options.endFile,
      sink: aws.pacedSink(new KinesisRecordSink(aws.kinesis, aws.streamName)),
      // As a day's events arrive: a trip's end soon after its start, not after every start.
      interleave: true,
      trail: new FailedTrail(bucket),
      logger,
      onProgress: (progress) => {
        rows = progress.rows;
        // By bytes: rows are of near-equal size, and the total number of rows is known only at the end.
        halfIngested ||= progress.bytesRead * 2 >= progress.totalBytes;
      },
    });
    await aws.drain();
    const redriven = options.redrive ? await redriveAll(aws) : undefined;
    // The nightly job runs hours after the writes in AWS: by then the index has every one of them.
    await aws.indexesCaughtUp();
    await aws.drain();
    const pipelineCalls = aws.stats().dynamodb;
    draw();
    logger.info("streams drained; running the KPI job");
    const jobStartedAt = formatDateTime(new Date());
    const { kpis, outputs } = await runLocalKpiJob(aws.db, aws.tableName, bucket);
    // As in AWS after each nightly run: the nightly rows read back from the bucket, every day compared.
    const liveDays = await liveKpiDays(aws.db, aws.tableName);
    const days = [...liveDays, ...kpis.map((k) => k.pickup_date)].sort();
    const nightly = days.length > 0 ? await readDailyKpis(bucket, days[0]!, days.at(-1)!) : [];
    const reconciliation = await reconcileKpis(aws.db, aws.tableName, liveDays, nightly, jobStartedAt, new Date());
    for (const day of reconciliation.differing) logger.error(day, "live KPIs differ from the nightly KPIs");
    const anomalies = await anomalyTrips(bucket);
    const unmatched = await pendingTrips(aws.db, aws.tableName, anomalies);
    const stats = aws.stats();
    const seconds = (performance.now() - started) / 1000;
    const events = ingest.start.sent + ingest.end.sent;
    const report: RunReport = {
      kpis,
      live: reconciliation.live,
      drift: reconciliation.drift,
      unsettled: reconciliation.unsettled,
      liveKpiWrites: (stats.changesByKind.SHARD ?? 0) + (stats.changesByKind.EXTREMES ?? 0),
      ttlDeletes: stats.ttlDeletes,
      ingest,
      pending: unmatched.length,
      anomalies: anomalies.size,
      dlq: (await aws.redrive({ dryRun: true })).totals.remaining,
      ...(redriven && { redrive: redriven }),
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
      consumers: Object.entries(stats.consumers).map(([name, consumer]) => ({ name, ...consumer })),
      throttled: stats.throttled,
      logs: logs.summary().map((log) => ({ ...log, path: shown(log.path) })),
      ...(dashboard && {
        serving: { kinesisEndpoint: aws.kinesisEndpoint, stream: aws.streamName, trailDir: shown(aws.bucketDir) },
      }),
      memory: {
        peak_rss_bytes: peakRssBytes(),
        heap_after_gc_bytes: heap.peak + stats.emulatorHeapAfterGc.peak,
        heap_after_gc_by_thread: { main: heap.peak, emulators: stats.emulatorHeapAfterGc.peak },
      },
      dynamodb: pipelineCalls,
    };
    if (dashboard) {
      dashboard.finished(report, () => aws.close({ keepData: options.keep }).then(() => logs.flush()));
      served = true;
    }
    return report;
  } finally {
    heap.stop();
    if (redraw) clearInterval(redraw);
    status?.done();
    if (!served) {
      await dashboard?.close();
      await aws.close({ keepData: options.keep });
      logs.flush();
    }
  }
}

/** Most redrive runs of one `--redrive`: a replay that fails again twice in a row is left for a person. */
const REDRIVE_ROUNDS = 3;

/**
 * --redrive: `pnpm redrive` on the local AWS, then a drain, as an operator would do it; run again
 * while something is left and the last run replayed something (as an operator reruns it after a
 * replay that crashed).
 */
async function redriveAll(aws: LocalAws): Promise<RedriveSummary> {
  let summary: RedriveSummary | undefined;
  for (let round = 1; round <= REDRIVE_ROUNDS; round += 1) {
    const { totals } = await aws.redrive();
    await aws.drain();
    summary = summary
      ? { ...summary, rounds: round, replayed: summary.replayed + totals.replayed, remaining: totals.remaining }
      : {
          rounds: round,
          batches: totals.batches,
          records: totals.records,
          replayed: totals.replayed,
          remaining: totals.remaining,
        };
    if (totals.remaining === 0 || totals.replayed === 0) break;
  }
  aws.logger.info(summary, "failed batches redriven");
  return summary!;
}

/**
 * `RSS 412 MB, heap after GC 96 MB | rows ingested 3,996 | delivered tripBegin 1,976 ... | pending trips 80`:
 * the memory first, since a narrow terminal cuts the line's end.
 */
export function progressLine(
  rows: number,
  consumers: LocalAwsStats["consumers"],
  pending: number,
  memory: { rss: number; heapAfterGc: number },
): string {
  const delivered = Object.entries(consumers).map(([name, stats]) => `${name} ${count(stats.delivered)}`);
  return `RSS ${megabytes(memory.rss)}, heap after GC ${megabytes(memory.heapAfterGc)} | rows ingested ${count(rows)} | delivered ${delivered.join(" ")} | pending trips ${count(pending)}`;
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20).toLocaleString("en-US")} MB`;
}

/** The line that says how to send more trips into the served run: `pnpm ingest`'s own defaults are left out. */
function servingKinesis({ kinesisEndpoint, stream, trailDir }: NonNullable<RunReport["serving"]>): string {
  const options = [
    `--endpoint ${kinesisEndpoint}`,
    ...(stream === TRIP_STREAM.name ? [] : [`--stream ${stream}`]),
    ...(trailDir === DEFAULT_TRAIL_DIR ? [] : [`--trail-dir ${trailDir}`]),
  ];
  return `Kinesis: ${kinesisEndpoint} (more trips while it serves: pnpm ingest ${options.join(" ")} --start-file F --end-file F)\n`;
}

/** The run's output folders that exist when this is printed: without --keep they are gone once the run ends. */
function outputsBlock({ outputs, dlq }: RunReport): string {
  const listed = [
    ...outputs.metrics.map((path, i) => ({ name: i === 0 ? "metrics" : "", path, note: "" })),
    { name: "failed", path: outputs.failed, note: "/ (rejected rows, anomalies)" },
    { name: "dlq", path: outputs.dlq, note: `/ (${count(dlq)} records)` },
  ].filter((output) => existsSync(output.path));
  if (listed.length === 0)
    return "Outputs: none kept (the bucket folder is removed after the run: add --keep to inspect it)\n";
  return `Outputs\n${listed.map((output) => `  ${output.name.padEnd(9)}  ${output.path}${output.note}`).join("\n")}\n`;
}

function humanReport(report: RunReport): string {
  const live = new Map(report.live.map((k) => [k.pickup_date, k]));
  const row = (source: string, k: DailyKpi | LiveRow | undefined, day: string) => {
    const [, ...values] = kpiCells(k ?? {});
    return [day, k && "settling" in k && k.settling ? `${source} (settling)` : source, ...values];
  };
  const days = [...new Set([...report.kpis.map((k) => k.pickup_date), ...live.keys()])].sort();
  const kpis = formatTable([
    [KPI_COLUMNS[0]!, "source", ...KPI_COLUMNS.slice(1)],
    ...days.flatMap((day) => [
      row(
        "nightly",
        report.kpis.find((k) => k.pickup_date === day),
        day,
      ),
      row("live", live.get(day), day),
    ]),
  ]);
  const consumers = formatTable([
    ["consumer", "delivered", "filtered", "invocations", "retries", "crashes", "dlq"],
    ...report.consumers.map((c) => [
      c.name,
      ...[c.delivered, c.filteredOut, c.invocations, c.retries, c.crashes, c.toDlq].map(String),
    ]),
  ]);
  const logs = formatTable([
    ["log", "warnings", "file"],
    ...report.logs.map((log) => [log.name, String(log.warnings), log.path]),
  ]);
  return [
    `Daily KPIs (pickup day, UTC): the nightly job and the live aggregates\n${days.length > 0 ? kpis : "no completed trips\n"}`,
    `Drift: ${report.drift === 0 ? "none (live equals nightly on every day)" : `${report.drift} day(s) differ`}${report.unsettled.length > 0 ? `; still settling: ${report.unsettled.join(", ")}` : ""}\n`,
    `Ingest\n${ingestTable(report.ingest)}`,
    `Trips: ${count(report.kpis.reduce((sum, k) => sum + tripCount(k), 0))} completed, ${count(report.pending)} pending (unmatched), ${count(report.anomalies)} anomalies (dropoff before pickup)\n`,
    `Consumers\n${consumers}`,
    ...(report.redrive
      ? [
          `Redrive: ${count(report.redrive.replayed)} of ${count(report.redrive.records)} records in ${count(report.redrive.batches)} failed batches replayed (${report.redrive.rounds} run(s)); ${count(report.redrive.remaining)} left\n`,
        ]
      : []),
    `Logs (the local CloudWatch; --verbose streams them; warnings include errors)\n${logs}`,
    outputsBlock(report),
    `${count(report.events)} events in ${report.seconds} s (${count(report.eventsPerSecond)} events/s); peak RSS ${megabytes(report.memory.peak_rss_bytes)}, heap after GC ${megabytes(report.memory.heap_after_gc_bytes)} (main ${megabytes(report.memory.heap_after_gc_by_thread.main)}, emulators ${megabytes(report.memory.heap_after_gc_by_thread.emulators)})\n`,
  ].join("\n");
}

export const launch = runWhenMain(import.meta.url, HELP, main);
