/**
 * Lambda's stream event-source mappings (Kinesis, DynamoDB Streams), run locally: one poller per
 * shard, batches in shard order, sequential per shard (parallelizationFactor 1).
 *
 * Semantics emulated (as documented for Lambda with ReportBatchItemFailures and
 * BisectBatchOnFunctionError):
 * - records not matching the event filters are dropped before batching, never delivered;
 * - a batch is up to batchSize matching records, gathered for at most the batching window;
 * - a response naming batchItemFailures checkpoints the records below the lowest named sequence
 *   number and retries the rest (by sequence number, not position: see reorder); an empty or
 *   null list is success; an empty, unknown or missing itemIdentifier fails the whole batch;
 * - a thrown error (or timeout) fails the whole batch: with bisect on, it is split in two and
 *   each half retried in order (splitting does not count as a retry);
 * - a batch retried retryAttempts times, or records older than maxRecordAge, go to the
 *   on-failure destination (here a folder: AWS's on-failure record plus the records themselves)
 *   and the shard moves on;
 * - optionally (`reorder`), a batch delivered again after a failure (a retry, a bisected half)
 *   comes shuffled: AWS documents that records processed more than once may arrive out of order;
 * - a reader that rolls over to child shards (shard-rollover.ts) tags each record with its
 *   shard: a batch never spans two shards, and a parent's batches, retries included, all go
 *   before its child's;
 * - with a tumbling window, the event also names the shard, the stream and the window, carries
 *   a state, and a response without a `state` object fails the batch. Not emulated: the state
 *   handed from one invocation to the next and the window's closing invocation (the consumers
 *   here use the window only for `shardId`).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@trip-pipeline/core/platform/logger";
import { FAILED_BATCH_PREFIX } from "@trip-pipeline/core/platform/pipeline-spec";
import type { BlobStore } from "@trip-pipeline/core/store/blob-store";
import {
  batchVerdict,
  compareSequenceNumbers,
  retriedRecords,
  windowFields,
} from "@trip-pipeline/core/streams/stream-batch";
import { type FilterPattern, matchesAny } from "./event-filter.js";
import { mulberry32, type Random, shuffled } from "./generate/prng.js";
import type { LambdaFunction } from "./lambda.js";

export interface PolledRecord {
  /** The itemIdentifier Lambda expects back for this record. */
  sequenceNumber: string;
  arrivalMs: number;
  /** The record exactly as Lambda delivers it in `event.Records`. */
  event: unknown;
  /** What event filter patterns are matched against. */
  filterable: unknown;
  /** The shard it was read from, when the reader rolls over to child shards (default: the reader's). */
  shardId?: string;
}

/** A stream as a mapping polls it. */
export interface StreamSource {
  kind: "kinesis" | "dynamodb";
  arn: string;
  shards: ShardReader[];
}

/** One shard of a stream, read in order from where the last read stopped. */
export interface ShardReader {
  shardId: string;
  /** The next records (at most `limit`); none when the reader has caught up. */
  read(limit: number): Promise<PolledRecord[]>;
}

export interface MappingSettings {
  batchSize: number;
  maxBatchingWindowSeconds: number;
  retryAttempts: number;
  maxRecordAgeSeconds: number;
  bisectBatchOnError: boolean;
  reportBatchItemFailures: boolean;
  tumblingWindowSeconds?: number;
}

export interface MappingOptions {
  /** The consumer's name in CONSUMERS, for the logs. */
  consumer: string;
  source: StreamSource;
  settings: MappingSettings;
  filters: readonly FilterPattern[];
  fn: LambdaFunction;
  /** The on-failure destination: the bucket (objects under aws/lambda/<uuid>/). */
  dlq: BlobStore;
  logger: Logger;
  /** Replaces the deployed batching window (local runs need not wait a second per batch). */
  batchingWindowMs?: number;
  /** Pause after a read that found a caught-up shard, doubled while it stays idle up to maxIdlePollMs. */
  pollIntervalMs?: number;
  maxIdlePollMs?: number;
  /** Base delay before a retry, doubled per attempt (capped at 1 s). */
  retryDelayMs?: number;
  /** Batches delivered again after a failure come in an order shuffled with this seed. */
  reorder?: { seed: number };
  /** While this holds the shards are not read: their records wait in the stream (backpressure from downstream). */
  holdWhile?: () => boolean;
}

export interface MappingStats {
  /** Records read from the shards, filtered-out included. */
  read: number;
  filteredOut: number;
  delivered: number;
  retries: number;
  bisections: number;
  toDlq: number;
}

/** One event-source mapping: a poller per shard. */
export class EventSourceMapping {
  readonly stats: MappingStats = { read: 0, filteredOut: 0, delivered: 0, retries: 0, bisections: 0, toDlq: 0 };
  /** The mapping's UUID, as Lambda names it in the on-failure destination's keys. */
  readonly uuid = randomUUID();
  private readonly pollers: ShardPoller[];

  constructor(readonly options: MappingOptions) {
    this.pollers = options.source.shards.map((shard) => new ShardPoller(shard, options, this.stats, this.uuid));
  }

  start(): void {
    for (const poller of this.pollers) poller.start();
  }

  /**
   * Resolves once every shard has come up empty with nothing in flight, after this call: true
   * when some shard came up empty while holding a partial batch, waiting out its batching window.
   */
  nextIdle(): Promise<boolean> {
    return Promise.all(this.pollers.map((poller) => poller.nextIdle())).then((partial) => partial.some(Boolean));
  }

  /** Partial batches waiting out their batching window are delivered now, without waiting. */
  flush(): void {
    for (const poller of this.pollers) poller.flush();
  }

  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((poller) => poller.stop()));
  }
}

interface Pending {
  /** In shard order; delivered shuffled when `again` and the mapping reorders. */
  records: PolledRecord[];
  /** Retries so far of these records. */
  attempt: number;
  /** Delivered before, whole or in part (a retry, a bisected half). */
  again: boolean;
}

/** A failed invocation: retry from `retryFrom` (a sequence number), or the whole batch when undefined. */
type Outcome = { ok: true } | { ok: false; retryFrom: bigint | undefined; error: string; thrown: boolean };

/** Records per shard read: filtered-out records must not cost a read each. */
const READ_PAGE = 1_000;

class ShardPoller {
  private stopped = false;
  private running: Promise<void> | undefined;
  private idleWaiters: ((partial: boolean) => void)[] = [];
  /** Holding a partial batch, waiting out the batching window: what flush() cuts short. */
  private waitingWindow = false;
  /** The batch being gathered goes as soon as a read finds nothing new (see flush()). */
  private flushing = false;
  /** Matching records read but not yet delivered, in shard order. */
  private buffer: PolledRecord[] = [];
  private idlePolls = 0;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  private readonly random: Random | undefined;

  constructor(
    private readonly shard: ShardReader,
    private readonly options: MappingOptions,
    private readonly stats: MappingStats,
    private readonly mappingUuid: string,
  ) {
    this.log = options.logger.child({ consumer: options.consumer, shardId: shard.shardId });
    this.random = options.reorder && mulberry32(options.reorder.seed);
  }

  start(): void {
    this.running ??= this.loop();
  }

  nextIdle(): Promise<boolean> {
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(resolve));
    this.wake?.();
    return idle;
  }

  flush(): void {
    if (this.waitingWindow) this.flushing = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.buffer.length === 0 && this.options.holdWhile?.()) {
        await this.pause(this.options.pollIntervalMs ?? 20);
        continue;
      }
      const batch = await this.gather();
      if (batch.length > 0) {
        this.idlePolls = 0;
        await this.deliver(batch);
        continue;
      }
      // A caught-up shard is polled less and less often, as Lambda does (about once a second).
      const pollMs = this.options.pollIntervalMs ?? 20;
      await this.pause(Math.min(this.options.maxIdlePollMs ?? 250, pollMs * 2 ** this.idlePolls++));
    }
  }

  /** A pause that nextIdle() and stop() cut short. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /**
   * Up to batchSize matching records, waiting at most the batching window once the first is in.
   * Reads are whole pages (filtered records do not count towards a batch); matching records
   * beyond the batch wait in the buffer for the next one.
   */
  private async gather(): Promise<PolledRecord[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.options.settings;
    const windowMs = this.options.batchingWindowMs ?? maxBatchingWindowSeconds * 1000;
    const pollMs = this.options.pollIntervalMs ?? 20;
    let deadline = this.buffer.length > 0 ? Date.now() + windowMs : undefined;
    while (this.buffer.length < batchSize && !this.parentClosed() && !this.stopped) {
      let records: PolledRecord[];
      try {
        records = await this.shard.read(Math.max(batchSize, READ_PAGE));
      } catch (error) {
        // A read that failed beyond the SDK's retries (throttling): deliver what is in, poll again later.
        this.log.warn({ err: error }, "shard read failed; polling again");
        break;
      }
      this.stats.read += records.length;
      for (const record of records) {
        if (matchesAny(this.options.filters, record.filterable)) this.buffer.push(record);
        else this.stats.filteredOut += 1;
      }
      if (this.buffer.length === 0) {
        if (records.length > 0) continue; // all filtered out: read on
        this.notifyIdle(false);
        break;
      }
      deadline ??= Date.now() + windowMs;
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (records.length === 0) {
        if (this.flushing) break;
        this.waitingWindow = true;
        this.notifyIdle(true);
        await sleep(Math.min(pollMs, left));
      }
    }
    this.waitingWindow = false;
    this.flushing = false;
    const shardId = this.shardOf(this.buffer[0]);
    const sameShard = this.buffer.findIndex((record) => this.shardOf(record) !== shardId);
    return this.buffer.splice(0, Math.min(batchSize, sameShard < 0 ? this.buffer.length : sameShard));
  }

  /** The buffer reaches into a child shard: the parent's last batch need not wait for more. */
  private parentClosed(): boolean {
    return this.buffer.length > 0 && this.shardOf(this.buffer[0]) !== this.shardOf(this.buffer.at(-1));
  }

  private shardOf(record: PolledRecord | undefined): string {
    return record?.shardId ?? this.shard.shardId;
  }

  private notifyIdle(partial: boolean): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve(partial);
  }

  private async deliver(batch: PolledRecord[]): Promise<void> {
    const { settings } = this.options;
    // In shard order: the head of the queue is always the oldest undelivered records.
    const queue: Pending[] = [{ records: batch, attempt: 0, again: false }];
    while (queue.length > 0) {
      const pending = queue.shift()!;
      const expired = this.expiredPrefix(pending.records);
      if (expired > 0) {
        await this.toDlq(
          pending.records.slice(0, expired),
          "RecordAgeExceeded",
          pending.attempt,
          "record older than maxRecordAge",
        );
        pending.records = pending.records.slice(expired);
        if (pending.records.length === 0) continue;
      }
      this.stats.delivered += pending.records.length;
      const outcome = await this.invoke(pending);
      if (outcome.ok) continue;
      if (outcome.thrown && settings.bisectBatchOnError && pending.records.length > 1) {
        const half = Math.ceil(pending.records.length / 2);
        this.stats.bisections += 1;
        queue.unshift(
          { records: pending.records.slice(0, half), attempt: pending.attempt, again: true },
          { records: pending.records.slice(half), attempt: pending.attempt, again: true },
        );
        continue;
      }
      const rest = retriedRecords(pending.records, (record) => record.sequenceNumber, outcome.retryFrom);
      if (pending.attempt >= settings.retryAttempts) {
        await this.toDlq(rest, "RetryAttemptsExhausted", pending.attempt, outcome.error);
        continue;
      }
      this.stats.retries += 1;
      await sleep(Math.min(1_000, (this.options.retryDelayMs ?? 10) * 2 ** pending.attempt));
      queue.unshift({ records: rest, attempt: pending.attempt + 1, again: true });
    }
  }

  private expiredPrefix(records: readonly PolledRecord[]): number {
    const oldest = Date.now() - this.options.settings.maxRecordAgeSeconds * 1000;
    let count = 0;
    while (count < records.length && records[count]!.arrivalMs < oldest) count += 1;
    return count;
  }

  private async invoke(pending: Pending): Promise<Outcome> {
    const { records } = pending;
    const delivered = pending.again && this.random ? shuffled(records, this.random) : records;
    let response: unknown;
    try {
      response = await this.options.fn.invoke({
        Records: delivered.map((record) => record.event),
        ...this.windowOf(records),
      });
    } catch (error) {
      this.log.warn({ err: error, records: records.length }, "invocation failed");
      return { ok: false, retryFrom: undefined, error: errorText(error), thrown: true };
    }
    if (
      this.options.settings.tumblingWindowSeconds !== undefined &&
      typeof (response as { state?: unknown } | null)?.state !== "object"
    ) {
      this.log.warn("windowed invocation answered without a state: the whole batch failed");
      return { ok: false, retryFrom: undefined, error: "response without state", thrown: false };
    }
    if (!this.options.settings.reportBatchItemFailures) return { ok: true };
    const verdict = batchVerdict(
      response,
      records.map((record) => record.sequenceNumber),
    );
    if (verdict.ok) return { ok: true };
    if (verdict.retryFrom === undefined) {
      this.log.warn(
        { batchItemFailures: (response as { batchItemFailures?: unknown }).batchItemFailures },
        "invalid batchItemFailures: the whole batch failed",
      );
      return { ok: false, retryFrom: undefined, error: "invalid batchItemFailures response", thrown: false };
    }
    return {
      ok: false,
      retryFrom: verdict.retryFrom,
      error: `batchItemFailures from ${verdict.retryFrom}`,
      thrown: false,
    };
  }

  /** The fields Lambda adds to the event of a mapping with a tumbling window. */
  private windowOf(records: readonly PolledRecord[]) {
    const seconds = this.options.settings.tumblingWindowSeconds;
    if (seconds === undefined) return {};
    const firstArrival = Math.min(...records.map((record) => record.arrivalMs));
    const start = Math.floor(firstArrival / (seconds * 1000)) * seconds * 1000;
    return windowFields(
      this.shardOf(records[0]),
      this.options.source.arn,
      new Date(start),
      new Date(start + seconds * 1000),
    );
  }

  /** Writes what Lambda's S3 on-failure destination holds for these records: the invocation record and the payload. */
  private async toDlq(
    records: PolledRecord[],
    condition: "RetryAttemptsExhausted" | "RecordAgeExceeded",
    attempt: number,
    error: string,
  ): Promise<void> {
    const { consumer, source, fn } = this.options;
    const bySequence = records.map((record) => record.sequenceNumber).sort(compareSequenceNumbers);
    const arrivals = records.map((record) => record.arrivalMs);
    const shardId = this.shardOf(records[0]);
    const batchInfo = {
      shardId,
      startSequenceNumber: bySequence[0],
      endSequenceNumber: bySequence.at(-1),
      approximateArrivalOfFirstRecord: new Date(Math.min(...arrivals)).toISOString(),
      approximateArrivalOfLastRecord: new Date(Math.max(...arrivals)).toISOString(),
      batchSize: records.length,
      streamArn: source.arn,
    };
    const now = new Date();
    const failure = {
      requestContext: { requestId: randomUUID(), functionArn: fn.arn, condition, approximateInvokeCount: attempt + 1 },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: now.toISOString(),
      [source.kind === "kinesis" ? "KinesisBatchInfo" : "DDBStreamBatchInfo"]: batchInfo,
      error,
      payload: { Records: records.map((record) => record.event) },
    };
    const iso = now.toISOString();
    const key = `${FAILED_BATCH_PREFIX}${this.mappingUuid}/${shardId}/${iso.slice(0, 10).replaceAll("-", "/")}/${iso.slice(0, 19).replaceAll(":", ".")}-${randomUUID()}`;
    // The shard only moves on once the failure is recorded: a failed write is retried, never skipped.
    for (let attemptWrite = 0; ; attemptWrite += 1) {
      try {
        await this.options.dlq.put(key, JSON.stringify(failure));
        break;
      } catch (writeError) {
        this.log.error({ err: writeError, key }, "DLQ write failed; retrying");
        await sleep(Math.min(1_000, 10 * 2 ** attemptWrite));
      }
    }
    this.stats.toDlq += records.length;
    this.log.error({ consumer, condition, records: records.length, key }, "records sent to the on-failure destination");
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
