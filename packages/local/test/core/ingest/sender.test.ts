import { BatchSender, type DeliveryFailure, KINESIS_LIMITS } from "@trip-pipeline/core/ingest/sender";
import type { PutOutcome, RecordSink, SinkRecord } from "@trip-pipeline/core/ingest/sink";
import { describe, expect, test } from "vitest";
import { mulberry32 } from "../../../src/generate/prng.js";

const THROTTLED_REASON = "ProvisionedThroughputExceededException: Rate exceeded for shard";
const THROTTLED: PutOutcome = { ok: false, retryable: true, reason: THROTTLED_REASON };
const record = (key: string, seq: number, bytes = 16) => ({
  partitionKey: key,
  data: Buffer.alloc(bytes, 97),
  meta: { key, seq },
});
type Meta = ReturnType<typeof record>["meta"];

/** A sink that answers each record with `answer` after a random short delay, logging every call. */
function fakeSink(answer: (record: SinkRecord, attempt: number) => PutOutcome, random = mulberry32(7)) {
  const calls: SinkRecord[][] = [];
  const attempts = new Map<SinkRecord, number>();
  const inFlight = new Set<string>();
  let overlaps = 0;
  const sink: RecordSink = {
    async put(records) {
      calls.push([...records]);
      for (const r of records) {
        if (inFlight.has(r.partitionKey)) overlaps += 1;
        inFlight.add(r.partitionKey);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3)));
      for (const r of records) inFlight.delete(r.partitionKey);
      return records.map((r) => {
        const attempt = (attempts.get(r) ?? 0) + 1;
        attempts.set(r, attempt);
        return answer(r, attempt);
      });
    },
    shardCount: async () => 4,
  };
  return { sink, calls, attempts, overlaps: () => overlaps };
}

function collect() {
  const delivered: Meta[] = [];
  const failed: DeliveryFailure<Meta>[] = [];
  return {
    delivered,
    failed,
    onDelivered: (metas: readonly Meta[]) => void delivered.push(...metas),
    onFailed: async (failures: readonly DeliveryFailure<Meta>[]) => void failed.push(...failures),
  };
}

async function sendAll(sender: BatchSender<Meta>, records: ReturnType<typeof record>[]) {
  for (const r of records) await sender.push(r);
  await sender.finish();
}

describe("BatchSender", () => {
  test("with calls in flight and retries, a later record of a key never overtakes an earlier one", async () => {
    const random = mulberry32(11);
    // A third of the answers are throttled, whatever the attempt: many records need several calls.
    const fake = fakeSink(() => (random() < 0.33 ? THROTTLED : { ok: true }));
    const out = collect();
    const sender = new BatchSender<Meta>({
      sink: fake.sink,
      concurrency: 8,
      backoff: { attempts: 30, baseDelayMs: 1, maxDelayMs: 2 },
      random,
      ...out,
    });
    const records = Array.from({ length: 3000 }, (_, i) => record(`trip-${i % 37}`, i));
    await sendAll(sender, records);

    expect(out.failed).toEqual([]);
    expect(out.delivered.map((m) => m.seq).sort((a, b) => a - b)).toEqual(records.map((r) => r.meta.seq));
    for (let k = 0; k < 37; k += 1) {
      const seqs = out.delivered.filter((m) => m.key === `trip-${k}`).map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(fake.overlaps()).toBe(0);
    expect(fake.calls.length).toBeGreaterThan(3000 / 500);
  });

  test("a call holds at most 500 records and 5 MiB counting partition keys; 1 MiB records pass, larger ones fail as too large", async () => {
    const fake = fakeSink(() => ({ ok: true }));
    const out = collect();
    const sender = new BatchSender<Meta>({ sink: fake.sink, concurrency: 2, ...out });
    const key = "k".repeat(100);
    const exactlyMax = KINESIS_LIMITS.bytesPerRecord - key.length;
    const records = [
      ...Array.from({ length: 1234 }, (_, i) => record(`small-${i}`, i)),
      ...Array.from({ length: 30 }, (_, i) => record(`w${i}`.padEnd(100, "k"), 2000 + i, 400_000 - 100)),
      record(key, 3000, exactlyMax),
      record(key, 3001, exactlyMax + 1),
    ];
    await sendAll(sender, records);

    const sizes = fake.calls.map((call) =>
      call.reduce((sum, r) => sum + Buffer.byteLength(r.partitionKey) + r.data.byteLength, 0),
    );
    expect(Math.max(...fake.calls.map((call) => call.length))).toBe(500);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(KINESIS_LIMITS.bytesPerCall);
    // 400 KB records: 13 fit in 5 MiB, so the wide rows take at least three calls.
    expect(sizes.filter((size) => size > 4_000_000).length).toBeGreaterThanOrEqual(2);
    expect(out.delivered).toHaveLength(records.length - 1);
    expect(out.failed).toEqual([
      {
        meta: { key, seq: 3001 },
        code: "record_too_large",
        message: `record is too large for Kinesis: ${KINESIS_LIMITS.bytesPerRecord + 1} bytes with its partition key, at most ${KINESIS_LIMITS.bytesPerRecord}`,
      },
    ]);
  });

  test("retries only the throttled records, after full-jitter exponential waits, and gives up after the bound", async () => {
    // Record "slow" is taken on its 4th call, "never" never; the others on the first call.
    const fake = fakeSink((r, attempt) =>
      r.partitionKey === "never" || (r.partitionKey === "slow" && attempt < 4) ? THROTTLED : { ok: true },
    );
    const out = collect();
    const waits: number[] = [];
    const sender = new BatchSender<Meta>({
      sink: fake.sink,
      concurrency: 2,
      backoff: { attempts: 8, baseDelayMs: 100, maxDelayMs: 5_000 },
      random: () => 0.5,
      sleep: async (ms) => void waits.push(ms),
      ...out,
    });
    await sendAll(sender, [record("a", 1), record("slow", 2), record("never", 3), record("b", 4)]);

    expect(out.delivered.map((m) => m.seq).sort()).toEqual([1, 2, 4]);
    expect(out.failed).toEqual([
      {
        meta: { key: "never", seq: 3 },
        code: "delivery_failed",
        message: `${THROTTLED_REASON} (gave up after 8 attempts)`,
      },
    ]);
    expect(fake.attempts.size).toBe(4);
    expect([...fake.attempts.values()].sort()).toEqual([1, 1, 4, 8]);
    // Retried calls carry only the records still failing.
    expect(
      fake.calls.slice(1).every((call) => call.every((r) => r.partitionKey === "slow" || r.partitionKey === "never")),
    ).toBe(true);
    // Half (the seeded jitter) of 100 ms * 2^n, capped at 5 s: 7 waits for "never", 3 of them shared with "slow".
    expect(waits).toEqual([50, 100, 200, 400, 800, 1600, 2500]);
  });

  test("a record failing for good (not retryable) is not retried and lets the next record of its key go", async () => {
    const fake = fakeSink((r) =>
      r.data.byteLength === 1
        ? { ok: false, retryable: false, reason: "KMSAccessDeniedException: no key" }
        : { ok: true },
    );
    const out = collect();
    const sender = new BatchSender<Meta>({ sink: fake.sink, concurrency: 1, ...out });
    await sendAll(sender, [record("t", 1, 1), record("t", 2)]);
    expect(out.failed.map((f) => [f.meta.seq, f.code, f.message])).toEqual([
      [1, "delivery_failed", "KMSAccessDeniedException: no key"],
    ]);
    expect(out.delivered.map((m) => m.seq)).toEqual([2]);
    expect(fake.calls.map((call) => call.length)).toEqual([1, 1]);
  });

  test("a record the sink answers nothing for counts as not taken and goes again", async () => {
    let calls = 0;
    const sink: RecordSink = {
      put: async (records) => (calls++ === 0 ? [] : records.map(() => ({ ok: true }) as const)),
      shardCount: async () => 1,
    };
    const out = collect();
    const sender = new BatchSender<Meta>({ sink, concurrency: 1, sleep: async () => {}, ...out });
    await sendAll(sender, [record("a", 1), record("b", 2)]);
    expect(calls).toBe(2);
    expect(out.delivered.map((m) => m.seq)).toEqual([1, 2]);
  });

  test("a call that cannot succeed stops the sender: push and finish reject with its error", async () => {
    const error = Object.assign(new Error("Stream TripEventsStream not found"), { name: "ResourceNotFoundException" });
    const sink: RecordSink = { put: async () => Promise.reject(error), shardCount: async () => 1 };
    const out = collect();
    const sender = new BatchSender<Meta>({ sink, concurrency: 1, ...out });
    const pushing = (async () => {
      for (let i = 0; i < 5000; i += 1) await sender.push(record(`t${i}`, i));
    })();
    await expect(pushing).rejects.toBe(error);
    await expect(sender.finish()).rejects.toBe(error);
    expect(out.delivered).toEqual([]);
  });

  test("memory stays bounded: push waits while two calls' worth per slot are unfinished", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sink: RecordSink = {
      put: async (records) => {
        await gate;
        return records.map(() => ({ ok: true }) as const);
      },
      shardCount: async () => 1,
    };
    const out = collect();
    const sender = new BatchSender<Meta>({ sink, concurrency: 2, ...out });
    let accepted = 0;
    const pushing = (async () => {
      for (let i = 0; i < 10_000; i += 1) {
        await sender.push(record(`t${i}`, i));
        accepted += 1;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(accepted).toBe(2 * 2 * 500 - 1);
    release();
    await pushing;
    await sender.finish();
    expect(out.delivered).toHaveLength(10_000);
  });
});
