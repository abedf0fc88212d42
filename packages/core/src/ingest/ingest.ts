/**
 * `pnpm ingest` as a library: streams trip_start.csv and trip_end.csv (constant memory),
 * validates every row with the core rules, sends the valid ones as wire events keyed by trip_id
 * and puts everything else in the failed trail, so that for each file
 * read = sent + rejected + failed.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { type CsvRow, readCsvRows } from "../domain/csv.js";
import { formatDateTime } from "../domain/datetime.js";
import {
  type EventType,
  encodeWireEvent,
  REQUIRED_FIELDS,
  type ReasonCode,
  type Rejection,
  validateEvent,
} from "../domain/events.js";
import type { Logger } from "../platform/logger.js";
import type { RetryPolicy } from "../platform/retry.js";
import type { FailedRecord, FailedTrail } from "../store/failed-trail.js";
import { BatchSender, type DeliveryFailure } from "./sender.js";
import type { RecordSink } from "./sink.js";

export interface FileSummary {
  read: number;
  valid: number;
  rejected: number;
  sent: number;
  failed: number;
  reasons: Partial<Record<ReasonCode, number>>;
}

export type IngestSummary = Record<EventType, FileSummary>;

export interface IngestProgress {
  /** Rows read so far, both files. */
  rows: number;
  bytesRead: number;
  totalBytes: number;
}

export interface IngestOptions {
  startFile: string;
  endFile: string;
  /** Where valid rows go (a KinesisRecordSink); unused by a dry run. */
  sink?: RecordSink;
  /** Where rejected and undeliverable rows go; a dry run writes nothing. */
  trail?: FailedTrail;
  /** Validate and count only: nothing is sent or written. */
  dryRun?: boolean;
  /** Calls in flight; default from the stream's shards (see defaultConcurrency). */
  concurrency?: number;
  backoff?: RetryPolicy;
  /** Injected by tests: jitter source, wait between attempts, clock for failed_at. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  onProgress?: (progress: IngestProgress) => void;
  /**
   * Both files at once, each in its own order, the one less far through (by its rows' length) next: a day's
   * ends then follow its starts as they do live, instead of every start first (the default: one
   * file, then the other).
   */
  interleave?: boolean;
  logger?: Logger;
}

/**
 * The run stopped part-way because an input could not be read on. Every row read was sent,
 * rejected or failed before it stopped, so `summary` adds up (read = sent + rejected + failed).
 */
export class IngestStoppedError extends Error {
  constructor(
    readonly summary: IngestSummary,
    readonly reason: unknown,
  ) {
    super(`ingest stopped: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = "IngestStoppedError";
  }
}

/** Two calls per shard keep every shard busy while a call is on the wire; 16 is plenty for one process. */
export function defaultConcurrency(shards: number): number {
  return Math.min(16, Math.max(2, 2 * shards));
}

/** Rejected rows are written in chunks of this many: constant memory, few objects. */
export const TRAIL_CHUNK_ROWS = 1_000;
const PROGRESS_EVERY_ROWS = 1_000;

interface RowMeta {
  kind: EventType;
  row: number;
  line: number;
  raw: string;
}

/**
 * Trail records of one file, flushed every TRAIL_CHUNK_ROWS. The object name holds the file and
 * the first and last row, so ingesting the same file again overwrites instead of duplicating.
 */
class TrailChunks {
  private records: FailedRecord[] = [];

  constructor(
    private readonly trail: FailedTrail,
    private readonly kind: EventType,
    private readonly name: string,
  ) {}

  add(record: FailedRecord): Promise<void> | undefined {
    this.records.push(record);
    return this.records.length >= TRAIL_CHUNK_ROWS ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    const records = this.records;
    if (records.length === 0) return;
    this.records = [];
    const rows = records.map((record) => record.row!);
    await this.trail.write(this.kind, `${this.name}-rows-${Math.min(...rows)}-${Math.max(...rows)}`, records);
  }
}

interface SourceFile {
  kind: EventType;
  path: string;
  size: number;
  stream: ReadStream;
  rows: AsyncGenerator<CsvRow>;
  summary: FileSummary;
  rejected?: TrailChunks;
  undelivered?: TrailChunks;
}

export async function ingestFiles(options: IngestOptions): Promise<IngestSummary> {
  const { dryRun = false, logger, now = () => new Date() } = options;
  if (!dryRun && (!options.sink || !options.trail))
    throw new TypeError("ingestFiles needs a sink and a trail unless dryRun is set");
  const startedAt = Date.now();

  // Both files must exist before either is opened: a missing end file must not leave the start file open.
  const sizes = await Promise.all([stat(options.startFile), stat(options.endFile)]);
  const open = (kind: EventType, path: string, size: number): SourceFile => {
    const stream = createReadStream(path);
    const name = basename(path);
    const trail = dryRun ? undefined : options.trail;
    return {
      kind,
      path,
      size,
      stream,
      rows: readCsvRows(stream, REQUIRED_FIELDS[kind], path),
      summary: { read: 0, valid: 0, rejected: 0, sent: 0, failed: 0, reasons: {} },
      rejected: trail && new TrailChunks(trail, kind, name),
      undelivered: trail && new TrailChunks(trail, kind, `${name}-delivery`),
    };
  };
  const files = [open("start", options.startFile, sizes[0].size), open("end", options.endFile, sizes[1].size)] as const;
  const byKind = { start: files[0], end: files[1] };

  const count = (file: SourceFile, code: ReasonCode) =>
    (file.summary.reasons[code] = (file.summary.reasons[code] ?? 0) + 1);
  const failedRecord = (file: SourceFile, meta: Omit<RowMeta, "kind">, rejection: Rejection): FailedRecord => ({
    source: file.path,
    row: meta.row,
    line: meta.line,
    raw: meta.raw,
    reason: rejection.code,
    ...(rejection.field && { field: rejection.field }),
    message: rejection.message,
    failed_at: formatDateTime(now()),
  });

  try {
    // Reading both headers first: a missing column in either file stops the run before anything is sent.
    const firsts = await Promise.all(files.map((file) => file.rows.next()));

    let sender: BatchSender<RowMeta> | undefined;
    if (!dryRun) {
      const shards = await options.sink!.shardCount();
      const concurrency = options.concurrency ?? defaultConcurrency(shards);
      logger?.info({ startFile: options.startFile, endFile: options.endFile, shards, concurrency }, "ingest started");
      sender = new BatchSender<RowMeta>({
        sink: options.sink!,
        concurrency,
        backoff: options.backoff,
        random: options.random,
        sleep: options.sleep,
        logger,
        onDelivered: (metas) => {
          for (const meta of metas) byKind[meta.kind].summary.sent += 1;
        },
        onFailed: async (failures: readonly DeliveryFailure<RowMeta>[]) => {
          for (const { meta, code, message } of failures) {
            const file = byKind[meta.kind];
            file.summary.failed += 1;
            count(file, code);
            await file.undelivered!.add(failedRecord(file, meta, { code, message }));
          }
        },
      });
    } else logger?.info({ startFile: options.startFile, endFile: options.endFile }, "dry run started");

    const totalBytes = files[0].size + files[1].size;
    let rows = 0;
    const progress = () =>
      options.onProgress?.({
        rows,
        bytesRead: files.reduce((sum, file) => sum + Math.min(file.stream.bytesRead, file.size), 0),
        totalBytes,
      });

    let stopped: unknown;
    // The file cannot be read on (an I/O error): what was read still goes out, so the counts add up.
    const readNext = (file: SourceFile): Promise<IteratorResult<CsvRow>> =>
      file.rows.next().catch((error: unknown) => {
        stopped = error;
        return { done: true, value: undefined };
      });
    const heads = [...firsts];
    // By the rows' own length, not the stream's reads (64 KiB at a time): row by row, a trip's end
    // then lands near its start, in the same consumer batches.
    const taken = [0, 0];
    const through = (i: number) => taken[i]! / Math.max(1, files[i]!.size);
    for (;;) {
      const unfinished = [0, 1].filter((i) => !heads[i]!.done);
      if (unfinished.length === 0 || stopped !== undefined) break;
      const i = options.interleave ? unfinished.reduce((a, b) => (through(b) < through(a) ? b : a)) : unfinished[0]!;
      const file = files[i]!;
      const row = heads[i]!.value as CsvRow;
      heads[i] = await readNext(file);
      taken[i]! += row.raw.length + 1;
      const { summary } = file;
      summary.read += 1;
      rows += 1;
      if (rows % PROGRESS_EVERY_ROWS === 0) progress();
      const checked = row.malformed
        ? ({ ok: false, rejection: { code: "malformed_row", message: row.malformed } } as const)
        : validateEvent(file.kind, row.record);
      if (!checked.ok) {
        summary.rejected += 1;
        count(file, checked.rejection.code);
        const wait = file.rejected?.add(failedRecord(file, row, checked.rejection));
        if (wait) await wait;
        continue;
      }
      summary.valid += 1;
      const wait = sender?.push({
        partitionKey: checked.value.trip_id,
        data: Buffer.from(encodeWireEvent(checked.value)),
        meta: { kind: file.kind, row: row.row, line: row.line, raw: row.raw },
      });
      if (wait) await wait;
    }
    for (const file of files) await file.rejected?.flush();
    progress();
    await sender?.finish();
    for (const file of files) await file.undelivered?.flush();
    if (stopped !== undefined)
      throw new IngestStoppedError({ start: files[0].summary, end: files[1].summary }, stopped);
  } finally {
    for (const file of files) file.stream.destroy();
  }

  const summary = { start: files[0].summary, end: files[1].summary };
  const seconds = (Date.now() - startedAt) / 1000;
  logger?.info(
    { summary, seconds, rowsPerSecond: Math.round((summary.start.read + summary.end.read) / Math.max(seconds, 0.001)) },
    dryRun ? "dry run finished" : "ingest finished",
  );
  return summary;
}
