import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { FAILED_BATCH_PREFIX } from "@trip-pipeline/core/platform/pipeline-spec";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { FilterPattern } from "../src/event-filter.js";
import { EventSourceMapping, type MappingSettings, type PolledRecord, type ShardReader } from "../src/event-source.js";
import type { LambdaFunction } from "../src/lambda.js";
import { childShardId, withShardRollover } from "../src/shard-rollover.js";

type Event = { Records: { seq: string; kind: string }[] };
type Respond = (records: Event["Records"], call: number) => unknown;

const SETTINGS: MappingSettings = {
  batchSize: 4,
  maxBatchingWindowSeconds: 1,
  retryAttempts: 2,
  maxRecordAgeSeconds: 3600,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
};

/** A shard holding records seq "001".."n"; kind "odd"/"even" for filtering. */
function shard(
  count: number,
  shardId = "shard-1",
  arrivalMs = () => Date.now(),
): ShardReader & { appended: PolledRecord[] } {
  const appended: PolledRecord[] = Array.from({ length: count }, (_, i) => record(i + 1, arrivalMs()));
  let position = 0;
  return {
    shardId,
    appended,
    read: async (limit) => {
      const out = appended.slice(position, position + limit);
      position += out.length;
      return out;
    },
  };
}

function record(n: number, arrivalMs: number): PolledRecord {
  const seq = String(n).padStart(3, "0");
  const kind = n % 2 ? "odd" : "even";
  return { sequenceNumber: seq, arrivalMs, event: { seq, kind }, filterable: { data: { kind } } };
}

class FakeFunction implements LambdaFunction {
  readonly arn = "arn:aws:lambda:eu-north-1:000000000000:function:fake";
  readonly calls: string[][] = [];
  constructor(private readonly respond: Respond = () => ({ batchItemFailures: [] })) {}
  async invoke(event: unknown): Promise<unknown> {
    const records = (event as Event).Records;
    this.calls.push(records.map((r) => r.seq));
    return this.respond(records, this.calls.length);
  }
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "esm-test-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const STREAM_ARN = "arn:aws:kinesis:eu-north-1:000000000000:stream/S";

async function runMapping(
  shards: ShardReader[],
  fn: FakeFunction,
  options: { settings?: Partial<MappingSettings>; filters?: FilterPattern[]; reorder?: { seed: number } } = {},
) {
  const mapping = new EventSourceMapping({
    consumer: "fake",
    source: { kind: "kinesis", arn: STREAM_ARN, shards },
    settings: { ...SETTINGS, ...options.settings },
    filters: options.filters ?? [],
    fn,
    dlq: new FolderBlobStore(root),
    logger: createLogger("test"),
    batchingWindowMs: 5,
    pollIntervalMs: 2,
    retryDelayMs: 1,
    reorder: options.reorder,
  });
  mapping.start();
  await mapping.nextIdle();
  await mapping.stop();
  return mapping;
}

async function dlqRecords(): Promise<Record<string, unknown>[]> {
  const store = new FolderBlobStore(root);
  const keys = await store.list(FAILED_BATCH_PREFIX);
  return await Promise.all(keys.map(async (key) => JSON.parse((await store.get(key))!) as Record<string, unknown>));
}

describe("backpressure", () => {
  test("while holdWhile holds, the shards are not read (records wait in the stream); once it stops, every record is delivered in order", async () => {
    const source = shard(10);
    const fn = new FakeFunction();
    let hold = true;
    const mapping = new EventSourceMapping({
      consumer: "fake",
      source: { kind: "kinesis", arn: STREAM_ARN, shards: [source] },
      settings: SETTINGS,
      filters: [],
      fn,
      dlq: new FolderBlobStore(root),
      logger: createLogger("test"),
      batchingWindowMs: 5,
      pollIntervalMs: 2,
      holdWhile: () => hold,
    });
    mapping.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([mapping.stats.read, fn.calls]).toEqual([0, []]);
    hold = false;
    await mapping.nextIdle();
    await mapping.stop();
    expect(fn.calls.flat()).toEqual(source.appended.map((r) => r.sequenceNumber));
  });
});

describe("the local event-source mapping", () => {
  test("delivers each shard in order in batches of batchSize; filtered records are never delivered", async () => {
    const fn = new FakeFunction();
    const mapping = await runMapping([shard(10)], fn, { filters: [{ data: { kind: ["odd"] } }] });
    expect(fn.calls).toEqual([["001", "003", "005", "007"], ["009"]]);
    expect(mapping.stats).toMatchObject({ read: 10, filteredOut: 5, delivered: 5, retries: 0, toDlq: 0 });
  });

  test("long runs of filtered-out records are read in pages and do not hold a partial batch back", async () => {
    const fn = new FakeFunction();
    const source = shard(3_003);
    source.appended.forEach((r, i) => {
      (r.filterable as { data: { kind: string } }).data.kind = i < 2 || i === 3_002 ? "odd" : "even";
    });
    let reads = 0;
    const counted = {
      shardId: source.shardId,
      read: (limit: number) => {
        reads += 1;
        return source.read(limit);
      },
    };
    await runMapping([counted], fn, { filters: [{ data: { kind: ["odd"] } }] });
    expect(fn.calls.flat()).toEqual(["001", "002", "3003"]);
    expect(reads).toBeLessThan(10);
  });

  test("a partial failure checkpoints the records before the lowest reported one and retries from it", async () => {
    const fn = new FakeFunction((_records, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: "004" }, { itemIdentifier: "003" }] } : {},
    );
    await runMapping([shard(6)], fn);
    expect(fn.calls).toEqual([
      ["001", "002", "003", "004"],
      ["003", "004"],
      ["005", "006"],
    ]);
  });

  test("an empty or unknown itemIdentifier fails the whole batch", async () => {
    const fn = new FakeFunction((_, call) =>
      call === 1
        ? { batchItemFailures: [{ itemIdentifier: "" }] }
        : call === 2
          ? { batchItemFailures: [{ itemIdentifier: "999" }] }
          : null,
    );
    await runMapping([shard(2)], fn);
    expect(fn.calls).toEqual([
      ["001", "002"],
      ["001", "002"],
      ["001", "002"],
    ]);
  });

  test("a thrown error bisects the batch until the bad record is alone; after retryAttempts it goes to the DLQ and the shard moves on", async () => {
    const fn = new FakeFunction((records) => {
      if (records.some((r) => r.seq === "003")) throw new Error("poison");
      return {};
    });
    const mapping = await runMapping([shard(6)], fn);
    expect(fn.calls).toEqual([
      ["001", "002", "003", "004"],
      ["001", "002"],
      ["003", "004"],
      ["003"],
      ["003"], // retry 1
      ["003"], // retry 2 = retryAttempts
      ["004"],
      ["005", "006"],
    ]);
    expect(mapping.stats).toMatchObject({ bisections: 2, retries: 2, toDlq: 1 });
    const [failure] = await dlqRecords();
    expect(failure).toMatchObject({
      requestContext: { functionArn: fn.arn, condition: "RetryAttemptsExhausted", approximateInvokeCount: 3 },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      KinesisBatchInfo: {
        shardId: "shard-1",
        startSequenceNumber: "003",
        endSequenceNumber: "003",
        batchSize: 1,
        streamArn: "arn:aws:kinesis:eu-north-1:000000000000:stream/S",
      },
      error: "Error: poison",
      payload: { Records: [{ seq: "003", kind: "odd" }] },
    });
    // Keyed as Lambda keys an S3 destination: aws/lambda/<mapping uuid>/<shardId>/YYYY/MM/DD/<time>-<uuid>.
    const [key] = await new FolderBlobStore(root).list(FAILED_BATCH_PREFIX);
    expect(key).toMatch(
      /^aws\/lambda\/[0-9a-f-]{36}\/shard-1\/\d{4}\/\d{2}\/\d{2}\/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$/,
    );
  });

  test("without bisect a failing batch is retried whole, then sent whole to the DLQ", async () => {
    const fn = new FakeFunction((records) => {
      if (records[0]!.seq === "001") throw new Error("down");
      return {};
    });
    const mapping = await runMapping([shard(5)], fn, { settings: { bisectBatchOnError: false, retryAttempts: 1 } });
    expect(fn.calls).toEqual([["001", "002", "003", "004"], ["001", "002", "003", "004"], ["005"]]);
    expect(mapping.stats.toDlq).toBe(4);
    expect((await dlqRecords())[0]).toMatchObject({
      KinesisBatchInfo: { startSequenceNumber: "001", endSequenceNumber: "004", batchSize: 4 },
    });
  });

  test("records older than maxRecordAge are not delivered but sent to the DLQ", async () => {
    const fn = new FakeFunction();
    let n = 0;
    const old = shard(3, "shard-1", () => (n++ < 2 ? Date.now() - 120_000 : Date.now()));
    await runMapping([old], fn, { settings: { maxRecordAgeSeconds: 60 } });
    expect(fn.calls).toEqual([["003"]]);
    expect((await dlqRecords())[0]).toMatchObject({
      requestContext: { condition: "RecordAgeExceeded" },
      KinesisBatchInfo: { startSequenceNumber: "001", endSequenceNumber: "002" },
    });
  });

  test("shards are polled independently, one batch at a time each", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const fn = new FakeFunction(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    });
    await runMapping([shard(8, "a"), shard(8, "b")], fn);
    expect(fn.calls).toHaveLength(4);
    expect(maxInFlight).toBe(2);
  });

  test("flush() delivers a partial batch that is only waiting out its window; the next window gathers as before", async () => {
    const source = shard(3);
    const fn = new FakeFunction();
    const mapping = new EventSourceMapping({
      consumer: "fake",
      source: { kind: "kinesis", arn: "arn:aws:kinesis:eu-north-1:000000000000:stream/S", shards: [source] },
      settings: SETTINGS,
      filters: [],
      fn,
      dlq: new FolderBlobStore(root),
      logger: createLogger("test"),
      batchingWindowMs: 60_000,
      pollIntervalMs: 2,
    });
    mapping.start();
    try {
      expect(await mapping.nextIdle()).toBe(true); // 3 of batchSize 4, waiting out the window
      expect(fn.calls).toEqual([]);
      mapping.flush();
      expect(await mapping.nextIdle()).toBe(false);
      expect(fn.calls).toEqual([["001", "002", "003"]]);

      source.appended.push(record(4, Date.now()), record(5, Date.now()));
      expect(await mapping.nextIdle()).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fn.calls).toHaveLength(1); // the flush was for that batch only: these wait out a window again
      mapping.flush();
      await mapping.nextIdle();
      expect(fn.calls).toEqual([
        ["001", "002", "003"],
        ["004", "005"],
      ]);
    } finally {
      await mapping.stop();
    }
  });
});

describe("tumbling windows", () => {
  test("the event names the shard, the stream and the window; a response without a state fails the batch", async () => {
    const events: Record<string, unknown>[] = [];
    const fn = new FakeFunction();
    fn.invoke = async (event: unknown) => {
      events.push(event as Record<string, unknown>);
      fn.calls.push((event as Event).Records.map((r) => r.seq));
      return events.length === 1 ? { batchItemFailures: [] } : { batchItemFailures: [], state: {} };
    };
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000; // a whole minute, recent (records have a maximum age)
    await runMapping([shard(3, "shardId-7", () => minute + 59_000)], fn, { settings: { tumblingWindowSeconds: 60 } });
    expect(fn.calls).toEqual([
      ["001", "002", "003"],
      ["001", "002", "003"],
    ]);
    expect(events[0]).toMatchObject({
      shardId: "shardId-7",
      eventSourceARN: "arn:aws:kinesis:eu-north-1:000000000000:stream/S",
      window: { start: new Date(minute).toISOString(), end: new Date(minute + 60_000).toISOString() },
      state: {},
      isFinalInvokeForWindow: false,
    });
  });
});

describe("re-deliveries and checkpoints (reorder)", () => {
  test("only a batch delivered again comes shuffled; a reported failure retries exactly the records at or after the lowest reported sequence number", async () => {
    let retryFrom = "";
    const fn = new FakeFunction((records, call) => {
      if (call === 1) return { batchItemFailures: [{ itemIdentifier: "003" }] };
      // Report the record delivered last: by position nothing else would be retried, by sequence number every later record is.
      if (call === 2) {
        retryFrom = records.at(-1)!.seq;
        return { batchItemFailures: [{ itemIdentifier: retryFrom }] };
      }
      return {};
    });
    await runMapping([shard(8)], fn, { settings: { batchSize: 8, retryAttempts: 3 }, reorder: { seed: 3 } });
    const inOrder = (calls: string[]) => [...calls].sort();
    expect(fn.calls[0]).toEqual(["001", "002", "003", "004", "005", "006", "007", "008"]);
    expect(inOrder(fn.calls[1]!)).toEqual(["003", "004", "005", "006", "007", "008"]);
    expect(fn.calls[1]).not.toEqual(inOrder(fn.calls[1]!));
    expect(inOrder(fn.calls[2]!)).toEqual(inOrder(fn.calls[1]!).filter((seq) => seq >= retryFrom));
    expect(fn.calls).toHaveLength(3);
  });

  test("sequence numbers are compared as integers (40+ digits): the retry and the DLQ's batch info take the lowest and highest by value", async () => {
    const seqs = [
      "99999999999999999999999999999999999999998",
      "99999999999999999999999999999999999999999",
      "100000000000000000000000000000000000000000",
    ];
    const records = seqs.map((seq) => ({
      sequenceNumber: seq,
      arrivalMs: Date.now(),
      event: { seq, kind: "odd" },
      filterable: {},
    }));
    let read = false;
    const source: ShardReader = {
      shardId: "shard-1",
      read: async () => {
        if (read) return [];
        read = true;
        return records;
      },
    };
    const fn = new FakeFunction((_, call) => {
      if (call === 1) return { batchItemFailures: [{ itemIdentifier: seqs[2] }, { itemIdentifier: seqs[1] }] };
      throw new Error("down");
    });
    await runMapping([source], fn, { settings: { bisectBatchOnError: false, retryAttempts: 1 } });
    expect(fn.calls).toEqual([seqs, seqs.slice(1)]);
    expect((await dlqRecords())[0]).toMatchObject({
      KinesisBatchInfo: { startSequenceNumber: seqs[1], endSequenceNumber: seqs[2], batchSize: 2 },
    });
  });
});

describe("shard rollover", () => {
  /** Every event as delivered, with the shard each record names (eventID) and the window's shard. */
  async function runRolling(every: number, respond: (records: Event["Records"]) => unknown) {
    const events: { eventShard: unknown; records: { seq: string; eventID: string }[] }[] = [];
    const fn = new FakeFunction();
    fn.invoke = async (event: unknown) => {
      const { Records, shardId } = event as {
        Records: { seq: string; kind: string; eventID: string }[];
        shardId: unknown;
      };
      events.push({ eventShard: shardId, records: Records.map(({ seq, eventID }) => ({ seq, eventID })) });
      fn.calls.push(Records.map((r) => r.seq));
      return { ...(respond(Records) as object), state: {} };
    };
    const source = withShardRollover(
      {
        kind: "kinesis",
        arn: STREAM_ARN,
        shards: [shard(7, "shardId-000000000000"), shard(7, "shardId-000000000001")],
      },
      every,
    );
    await runMapping(source.shards, fn, { settings: { retryAttempts: 1, tumblingWindowSeconds: 60 } });
    return events;
  }

  test("each shard closes after N records and a child with a new id continues, parents first; a batch never spans two shards", async () => {
    const events = await runRolling(3, () => ({}));
    const shardOf = (eventID: string) => eventID.split(":")[0]!;
    for (const [parent, child, grandchild] of [
      ["shardId-000000000000", "shardId-000000000002", "shardId-000000000004"],
      ["shardId-000000000001", "shardId-000000000003", "shardId-000000000005"],
    ]) {
      const lineage = events.filter((e) => [parent, child, grandchild].includes(shardOf(e.records[0]!.eventID)));
      // Batches of up to 4 (batchSize) cut at every third record: the shard's order, one shard per batch.
      expect(lineage.map((e) => e.records.map((r) => r.eventID))).toEqual([
        [`${parent}:001`, `${parent}:002`, `${parent}:003`],
        [`${child}:004`, `${child}:005`, `${child}:006`],
        [`${grandchild}:007`],
      ]);
    }
    // The window names the same shard as the records in it.
    for (const event of events)
      expect(event.records.every((r) => r.eventID.startsWith(`${event.eventShard as string}:`))).toBe(true);
  });

  test("a child's failed batch goes to the DLQ under the child's id, and the grandchild waits for it", async () => {
    const events = await runRolling(3, (records) => {
      if (records.some((r) => r.seq === "005")) throw new Error("poison");
      return {};
    });
    const failures = await dlqRecords();
    expect(failures.map((f) => f.KinesisBatchInfo)).toEqual([
      expect.objectContaining({
        shardId: "shardId-000000000002",
        startSequenceNumber: "005",
        endSequenceNumber: "005",
      }),
      expect.objectContaining({
        shardId: "shardId-000000000003",
        startSequenceNumber: "005",
        endSequenceNumber: "005",
      }),
    ]);
    expect(await new FolderBlobStore(root).list(FAILED_BATCH_PREFIX)).toEqual(
      expect.arrayContaining([
        expect.stringContaining("/shardId-000000000002/"),
        expect.stringContaining("/shardId-000000000003/"),
      ]),
    );
    const calls = events.map((e) => e.records.map((r) => r.eventID));
    const lastOfChild = Math.max(...calls.flatMap((ids, i) => (ids.includes("shardId-000000000002:005") ? [i] : [])));
    expect(calls.findIndex((ids) => ids.includes("shardId-000000000004:007"))).toBeGreaterThan(lastOfChild);
  });

  test("child ids continue the parent's numbering after every existing shard, in the parent's format", () => {
    expect(childShardId("shardId-000000000001", 0, 2)).toBe("shardId-000000000001");
    expect(childShardId("shardId-000000000001", 3, 2)).toBe("shardId-000000000007");
    expect(childShardId("shardId-00000000000000000004-local", 1, 4)).toBe("shardId-00000000000000000008-local");
  });
});
