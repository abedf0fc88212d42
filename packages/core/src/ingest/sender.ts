/**
 * Sends records through a RecordSink in calls within Kinesis's limits, several calls in flight,
 * retrying only the records a call did not take (exponential backoff, full jitter, bounded).
 *
 * Order per partition key: a record waits while an earlier record with its key is unfinished
 * (in flight or waiting for a retry), so a later row of a trip never overtakes an earlier one,
 * whatever the concurrency and retries. Kinesis keeps the order of a call's records per shard.
 *
 * Memory is bounded: `push` waits while too many records are unfinished, which also slows the
 * reader down when the stream throttles.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "../platform/logger.js";
import { backoffDelay, type RetryPolicy } from "../platform/retry.js";
import type { RecordSink, SinkRecord } from "./sink.js";

/** PutRecords limits; record size counts the partition key's bytes and the data's. */
export const KINESIS_LIMITS = {
  recordsPerCall: 500,
  bytesPerCall: 5 * 1024 * 1024,
  bytesPerRecord: 1024 * 1024,
} as const;

/** Eight calls per record over at most ~13 s: rides out a shard's one-second throughput window several times. */
export const DEFAULT_BACKOFF: RetryPolicy = { attempts: 8, baseDelayMs: 100, maxDelayMs: 5_000 };

export interface OutboundRecord<M> extends SinkRecord {
  meta: M;
}

export interface DeliveryFailure<M> {
  meta: M;
  code: "delivery_failed" | "record_too_large";
  message: string;
}

export interface SenderOptions<M> {
  sink: RecordSink;
  /** Calls in flight at once. */
  concurrency: number;
  backoff?: RetryPolicy;
  /** Injected by tests: the jitter's source and the wait between attempts. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Records the sink took. */
  onDelivered(records: readonly M[]): void;
  /** Records given up on; awaited before their keys move on, so failures are recorded in order. */
  onFailed(failures: readonly DeliveryFailure<M>[]): Promise<void>;
  logger?: Logger;
}

interface Entry<M> {
  record: OutboundRecord<M>;
  size: number;
}

interface Job<M> {
  entries: Entry<M>[];
  /** Calls already made for these entries. */
  attempt: number;
}

/** A FIFO with O(1) shift (Array#shift is O(n) on long queues). */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class BatchSender<M> {
  private readonly backoff: RetryPolicy;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly highWater: number;
  /** Records free to go, at most one per key. */
  private readonly ready = new Queue<Entry<M>>();
  private readyBytes = 0;
  private readonly retries = new Queue<Job<M>>();
  /** Keys with an unfinished record, and the later records of that key waiting behind it. */
  private readonly waiting = new Map<string, Entry<M>[]>();
  private unfinished = 0;
  private inFlight = 0;
  private ended = false;
  private producerBlocked = false;
  private failure: { error: unknown } | undefined;
  private readonly watchers: { test: () => boolean; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(private readonly options: SenderOptions<M>) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError(`concurrency must be a whole number from 1, got ${options.concurrency}`);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    // Enough for every slot to have a full call in flight and another one ready.
    this.highWater = 2 * options.concurrency * KINESIS_LIMITS.recordsPerCall;
  }

  /** Accepts a record; the returned promise (if any) resolves when there is room for more. */
  push(record: OutboundRecord<M>): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure.error);
    const size = Buffer.byteLength(record.partitionKey) + record.data.byteLength;
    if (size > KINESIS_LIMITS.bytesPerRecord) {
      const message = `record is too large for Kinesis: ${size} bytes with its partition key, at most ${KINESIS_LIMITS.bytesPerRecord}`;
      return this.options.onFailed([{ meta: record.meta, code: "record_too_large", message }]);
    }
    const entry = { record, size };
    this.unfinished += 1;
    const behind = this.waiting.get(record.partitionKey);
    if (behind) behind.push(entry);
    else {
      this.waiting.set(record.partitionKey, []);
      this.enqueue(entry);
    }
    this.pump();
    if (this.unfinished < this.highWater) return undefined;
    this.producerBlocked = true;
    this.pump();
    return this.until(() => this.unfinished < this.highWater).finally(() => {
      this.producerBlocked = false;
    });
  }

  /** Sends what is left and resolves once every record is delivered or handed to onFailed. */
  async finish(): Promise<void> {
    this.ended = true;
    this.pump();
    await this.until(() => this.unfinished === 0);
  }

  private enqueue(entry: Entry<M>): void {
    this.ready.push(entry);
    this.readyBytes += entry.size;
  }

  private pump(): void {
    while (!this.failure && this.inFlight < this.options.concurrency) {
      const job = this.retries.shift() ?? this.nextBatch();
      if (!job) return;
      this.inFlight += 1;
      this.send(job).catch((error: unknown) => this.fail(error));
    }
  }

  /**
   * A full call's worth of ready records; a partial one only when no more can come soon
   * (input ended, or the reader is blocked on records that wait behind their keys).
   */
  private nextBatch(): Job<M> | undefined {
    const full = this.ready.length >= KINESIS_LIMITS.recordsPerCall || this.readyBytes >= KINESIS_LIMITS.bytesPerCall;
    if (this.ready.length === 0 || !(full || this.ended || this.producerBlocked)) return undefined;
    const entries: Entry<M>[] = [];
    let bytes = 0;
    for (
      let next = this.ready.peek();
      next && entries.length < KINESIS_LIMITS.recordsPerCall && bytes + next.size <= KINESIS_LIMITS.bytesPerCall;
      next = this.ready.peek()
    ) {
      entries.push(this.ready.shift()!);
      bytes += next.size;
    }
    this.readyBytes -= bytes;
    return { entries, attempt: 0 };
  }

  private async send(job: Job<M>): Promise<void> {
    const outcomes = await this.options.sink.put(job.entries.map((entry) => entry.record));
    const attempt = job.attempt + 1;
    const delivered: Entry<M>[] = [];
    const retry: Entry<M>[] = [];
    const failed: { entry: Entry<M>; reason: string }[] = [];
    job.entries.forEach((entry, i) => {
      const outcome = outcomes[i] ?? { ok: false, retryable: true, reason: "the sink gave no outcome for this record" };
      if (outcome.ok) delivered.push(entry);
      else if (outcome.retryable && attempt < this.backoff.attempts) retry.push(entry);
      else
        failed.push({
          entry,
          reason: outcome.retryable ? `${outcome.reason} (gave up after ${attempt} attempts)` : outcome.reason,
        });
    });
    this.options.onDelivered(delivered.map((entry) => entry.record.meta));
    if (failed.length > 0) {
      this.options.logger?.warn({ records: failed.length, reason: failed[0]!.reason }, "records failed delivery");
      await this.options.onFailed(
        failed.map(({ entry, reason }) => ({ meta: entry.record.meta, code: "delivery_failed", message: reason })),
      );
    }
    for (const entry of delivered) this.settle(entry);
    for (const { entry } of failed) this.settle(entry);
    this.inFlight -= 1;
    if (retry.length > 0) this.scheduleRetry({ entries: retry, attempt });
    this.notify();
    this.pump();
  }

  private scheduleRetry(job: Job<M>): void {
    const ms = backoffDelay(this.backoff, job.attempt - 1, this.random);
    this.options.logger?.debug(
      { records: job.entries.length, attempt: job.attempt, delayMs: Math.round(ms) },
      "retrying records the stream did not take",
    );
    this.sleep(ms).then(
      () => {
        this.retries.push(job);
        this.pump();
      },
      (error: unknown) => this.fail(error),
    );
  }

  /** A record is done: the next record of its key may go. */
  private settle(entry: Entry<M>): void {
    this.unfinished -= 1;
    const key = entry.record.partitionKey;
    const next = this.waiting.get(key)?.shift();
    if (next) this.enqueue(next);
    else this.waiting.delete(key);
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
    this.notify();
  }

  private until(test: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => this.watchers.push({ test, resolve, reject }));
  }

  private notify(): void {
    for (let i = this.watchers.length - 1; i >= 0; i -= 1) {
      const watcher = this.watchers[i]!;
      if (this.failure) watcher.reject(this.failure.error);
      else if (watcher.test()) watcher.resolve();
      else continue;
      this.watchers.splice(i, 1);
    }
  }
}
