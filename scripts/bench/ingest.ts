/**
 * Ingest benchmark (part of `pnpm bench`; runnable alone: `node scripts/run.mjs bench-ingest [--rows N]
 * [--rss-rows N] [--shards N]`).
 *
 * 1. Throughput: rows/s that ingest gets into the embedded Kinesis, next to the ceiling of the
 *    same emulator in the same run (pre-encoded 500-record PutRecords calls, same concurrency,
 *    no CSV or validation). The emulator runs in a process of its own, so it does not share a
 *    core with the process measured, and afresh for each phase, so neither phase inherits the
 *    other's records. The goal is ingest >= 0.8 x ceiling.
 * 2. Memory: peak RSS of a child process (prebuilt, as `pnpm ingest` runs) ingesting a generated pair of ~5 million rows. The child
 *    sends to a sink that accepts every call at once: the emulator would keep 5 million records
 *    in its own memory and take ~10 minutes at its ~16k records/s, while everything ingest holds
 *    (CSV streams, validation, the sender's bounded queues, trail chunks) is exercised. Goal < 200 MB.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { readCsvRows } from "@trip-pipeline/core/domain/csv";
import { encodeWireEvent, REQUIRED_FIELDS, validateEvent } from "@trip-pipeline/core/domain/events";
import { defaultConcurrency, ingestFiles } from "@trip-pipeline/core/ingest/ingest";
import { KINESIS_LIMITS } from "@trip-pipeline/core/ingest/sender";
import { KinesisRecordSink, type RecordSink, type SinkRecord } from "@trip-pipeline/core/ingest/sink";
import { createKinesisClient } from "@trip-pipeline/core/platform/aws-clients";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { writeTripFiles } from "@trip-pipeline/local/generate";
import { createTripStream } from "@trip-pipeline/local/kinesis";
import { intOption, LAUNCHER, parseCli, REPO_ROOT, runCliChild, runWhenMain } from "../lib/cli.js";
import { EXIT } from "../lib/exit-codes.js";
import { jsonDocument } from "../lib/json-output.js";

export interface BenchIngestOptions {
  /** Rows (both files) for the throughput run. */
  rows?: number;
  /** Rows (both files) for the memory run. */
  rssRows?: number;
  shards?: number;
}

const DEFAULTS = { rows: 200_000, rssRows: 5_000_000, shards: 4 };

/** Generates about `rows` rows over the two files (one start and one end row per trip). */
async function generate(outDir: string, rows: number) {
  return writeTripFiles({ trips: Math.ceil(rows / 2), days: 7, seed: 42, startDate: "2024-05-20", outDir });
}

/** Runs `fn` against a fresh emulator in its own process: each phase starts from an empty store. */
async function withEmulator<T>(shards: number, fn: (sink: RecordSink) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [LAUNCHER, "local-kinesis-server"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const kinesis = createKinesisClient({ endpoint: (JSON.parse(line) as { endpoint: string }).endpoint });
    try {
      await createTripStream(kinesis, shards, "bench");
      return await fn(new KinesisRecordSink(kinesis, "bench"));
    } finally {
      kinesis.destroy();
    }
  } finally {
    child.kill("SIGTERM");
  }
}

/** The same events ingest will send, encoded up front: the ceiling measures PutRecords alone. */
async function encodedEvents(files: { startFile: string; endFile: string }): Promise<SinkRecord[]> {
  const records: SinkRecord[] = [];
  for (const [kind, path] of [
    ["start", files.startFile],
    ["end", files.endFile],
  ] as const)
    for await (const row of readCsvRows(createReadStream(path), REQUIRED_FIELDS[kind], path)) {
      const event = row.malformed ? undefined : validateEvent(kind, row.record);
      if (event?.ok)
        records.push({ partitionKey: event.value.trip_id, data: Buffer.from(encodeWireEvent(event.value)) });
    }
  return records;
}

async function ceiling(sink: RecordSink, records: SinkRecord[], concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < records.length) {
        const from = next;
        next += KINESIS_LIMITS.recordsPerCall;
        const batch = records.slice(from, next);
        const outcomes = await sink.put(batch);
        if (outcomes.some((o) => !o.ok)) throw new Error("the emulator refused records during the ceiling run");
      }
    }),
  );
  return records.length / ((performance.now() - started) / 1000);
}

async function throughput(dir: string, rows: number, shards: number) {
  const files = await generate(join(dir, "throughput"), rows);
  const concurrency = defaultConcurrency(shards);
  let records: SinkRecord[] | undefined = await encodedEvents(files);
  const expected = records.length;
  const ceilingPerSecond = await withEmulator(shards, (sink) => ceiling(sink, records!, concurrency));
  // The pre-encoded records would otherwise sit in this process's heap during the ingest phase.
  records = undefined;
  const { summary, seconds } = await withEmulator(shards, async (sink) => {
    const started = performance.now();
    const summary = await ingestFiles({
      ...files,
      sink,
      trail: new FailedTrail(new FolderBlobStore(join(dir, "bucket"))),
      concurrency,
    });
    return { summary, seconds: (performance.now() - started) / 1000 };
  });
  const sent = summary.start.sent + summary.end.sent;
  if (sent !== expected) throw new Error(`ingest sent ${sent} records, expected ${expected}`);
  return {
    rows: summary.start.read + summary.end.read,
    records: sent,
    shards,
    concurrency,
    ingestRecordsPerSecond: Math.round(sent / seconds),
    ceilingRecordsPerSecond: Math.round(ceilingPerSecond),
    ratio: Number((sent / seconds / ceilingPerSecond).toFixed(2)),
  };
}

/** Child side of the memory run: ingest into a sink that takes everything, report our own peak RSS. */
async function rssChild(startFile: string, endFile: string, trailDir: string): Promise<void> {
  const baselineMb = process.resourceUsage().maxRSS / 1024;
  const sink: RecordSink = {
    put: async (records) => records.map(() => ({ ok: true }) as const),
    shardCount: async () => DEFAULTS.shards,
  };
  const started = performance.now();
  const summary = await ingestFiles({
    startFile,
    endFile,
    sink,
    trail: new FailedTrail(new FolderBlobStore(trailDir)),
  });
  const seconds = (performance.now() - started) / 1000;
  const rows = summary.start.read + summary.end.read;
  const figures: MemoryFigures = {
    rows,
    sent: summary.start.sent + summary.end.sent,
    seconds: Math.round(seconds),
    rowsPerSecond: Math.round(rows / seconds),
    baselineRssMb: Math.round(baselineMb),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

interface MemoryFigures {
  rows: number;
  sent: number;
  seconds: number;
  rowsPerSecond: number;
  baselineRssMb: number;
  peakRssMb: number;
}

async function memory(dir: string, rows: number): Promise<MemoryFigures> {
  const files = await generate(join(dir, "memory"), rows);
  // With the V8 flags `pnpm ingest` starts with (package.json): a 4 MB young generation keeps a
  // multi-million-row run under 200 MB RSS for about 15% more GC time.
  return JSON.parse(
    await runCliChild("ingest", "bench-ingest", [
      "--rss-child",
      files.startFile,
      files.endFile,
      join(dir, "rss-bucket"),
    ]),
  ) as MemoryFigures;
}

export interface BenchIngestResult {
  name: "ingest";
  throughput: Awaited<ReturnType<typeof throughput>>;
  memory: MemoryFigures;
  /** One line for people. */
  summary: string;
}

/** The figures; `pnpm bench` (or running this file) prints them as one JSON line. */
export async function benchIngest(options: BenchIngestOptions = {}): Promise<BenchIngestResult> {
  const rows = options.rows ?? DEFAULTS.rows;
  const rssRows = options.rssRows ?? DEFAULTS.rssRows;
  const shards = options.shards ?? DEFAULTS.shards;
  const dir = await mkdtemp(join(tmpdir(), "bench-ingest-"));
  try {
    const speed = await throughput(dir, rows, shards);
    const rss = await memory(dir, rssRows);
    return {
      name: "ingest",
      throughput: speed,
      memory: rss,
      summary:
        `ingest: ${speed.ingestRecordsPerSecond} records/s into the emulator, ceiling ${speed.ceilingRecordsPerSecond}/s: ratio ${speed.ratio} (goal >= 0.8); ` +
        `peak RSS ${rss.peakRssMb} MB ingesting ${rss.rows} rows (goal < 200 MB)`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--rss-child") await rssChild(argv[1]!, argv[2]!, argv[3]!);
  else {
    const values = parseCli(argv, {
      rows: { type: "string" },
      "rss-rows": { type: "string" },
      shards: { type: "string" },
    });
    const result = await benchIngest({
      rows: intOption("rows", values.rows, 1),
      rssRows: intOption("rss-rows", values["rss-rows"], 1),
      shards: intOption("shards", values.shards, 1),
    });
    process.stdout.write(jsonDocument(result));
  }
  return EXIT.done;
}

export const launch = runWhenMain(
  import.meta.url,
  {
    command: "node scripts/run.mjs bench-ingest",
    synopsis: ["[--rows N] [--rss-rows N] [--shards N]"],
    about:
      "The ingest benchmark alone: throughput into the embedded Kinesis against its ceiling, and the peak RSS of `pnpm ingest` on a large generated pair.",
    options: [
      ["--rows N", `rows (both files) for the throughput run (default ${DEFAULTS.rows.toLocaleString("en-US")})`],
      ["--rss-rows N", `rows (both files) for the memory run (default ${DEFAULTS.rssRows.toLocaleString("en-US")})`],
      ["--shards N", `shards of the stream (default ${DEFAULTS.shards})`],
    ],
  },
  main,
);
