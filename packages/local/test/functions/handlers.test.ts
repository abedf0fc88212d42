import type { BlobStore } from "@trip-pipeline/core/store/blob-store";
import { dayShardOf } from "@trip-pipeline/core/store/entities";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import type { HandlerDeps } from "@trip-pipeline/functions/environment";
import { createMatcherHandler } from "@trip-pipeline/functions/matcher";
import { createTripEventHandler } from "@trip-pipeline/functions/trip-events";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, test } from "vitest";
import { captureLogger } from "../../../core/test/support/logs.js";
import { context, emulatedTable, end, kinesisEvent, NOW, SHARD, start, streamEvent } from "./support.js";

const env = emulatedTable();

/** The three handlers wired to the test table; `match` takes the stream records written so far. */
function pipeline(overrides: Partial<HandlerDeps> = {}) {
  const deps = env.ws.deps(env.table, overrides);
  const begin = createTripEventHandler("start", deps);
  const finish = createTripEventHandler("end", deps);
  const matcher = createMatcherHandler(deps);
  return {
    begin: (...records: string[]) => begin(kinesisEvent(records), context()),
    finish: (...records: string[]) => finish(kinesisEvent(records), context()),
    match: (records: DynamoDBRecord[] = env.table.takeStream()) => matcher(streamEvent(records), context()),
  };
}

/** Sort keys without the raw items' value digest (`#<16 hex>`), which tests need not spell out. */
const keysOf = async (tripId: string) =>
  (await env.table.items())
    .filter((item) => item.trip_id === tripId)
    .map((item) => String(item.sort_key).replace(/#[0-9a-f]{16}$/, ""));
const rawKey = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}#[0-9a-f]{16}$`));

const T1_COMPLETED = {
  trip_id: "t1",
  sort_key: "COMPLETED#2024-05-25 10:00:00",
  trip_status: "completed",
  pickup_datetime: "2024-05-25 10:00:00",
  dropoff_datetime: "2024-05-25 10:42:00",
  estimated_fare: "34.18595283806629",
  fare_amount: "40.09620692463166",
  pickup_date: "2024-05-25",
  gsi1pk: `DAY#2024-05-25#${dayShardOf("t1")}`,
  gsi1sk: "2024-05-25 10:00:00#t1",
  vendor_id: "2",
  tip_amount: "3.5",
};
const T1_START = start("t1", "2024-05-25 10:00:00", "34.18595283806629", { vendor_id: "2" });
const T1_END = end("t1", "2024-05-25 10:42:00", "40.09620692463166", { tip_amount: "3.50" });

describe("tripBegin / tripFinish", () => {
  test("valid events become raw items with exact fares and a TTL; invalid ones go to the failed trail and are not retried", async () => {
    const p = pipeline();
    const batch = kinesisEvent([
      T1_START,
      start("t2", "2024-05-25 10:00:00", "12,50"),
      start("t3", "2024-02-30 10:00:00"),
      "{not json",
      end("t4", "2024-05-25 10:00:00"),
      JSON.stringify({ event_type: "start", trip_id: "t5", estimated_fare_amount: "1" }),
    ]);
    const handler = createTripEventHandler("start", env.ws.deps(env.table));
    expect(await handler(batch, context())).toEqual({ batchItemFailures: [] });

    expect(await env.table.items()).toEqual([
      expect.objectContaining({
        trip_id: "t1",
        sort_key: rawKey("RAW#START#2024-05-25 10:00:00"),
        estimated_fare: "34.18595283806629",
        trip_status: "pending",
        vendor_id: "2",
        expires_at: String(NOW.getTime() / 1000 + 7 * 86_400),
      }),
    ]);
    const failed = await env.ws.failed("start");
    const seqs = batch.Records.map((r) => r.kinesis.sequenceNumber);
    // One object per rejected record, named by its identity: arrival day, shard, sequence number.
    expect(failed.map((f) => f.key).sort()).toEqual(
      seqs
        .slice(1)
        .map((seq) => `failed/start/2024-05-26/${SHARD}-${seq}.jsonl`)
        .sort(),
    );
    failed.sort((a, b) => a.key.localeCompare(b.key));
    expect(failed.map((f) => [f.record.sequence_number, f.record.reason, f.record.field])).toEqual([
      [seqs[1], "invalid_fare", "estimated_fare_amount"],
      [seqs[2], "invalid_calendar_datetime", "pickup_datetime"],
      [seqs[3], "invalid_json", undefined],
      [seqs[4], "invalid_event_type", "event_type"],
      [seqs[5], "missing_field", "pickup_datetime"],
    ]);
    expect(failed[3]!.record).toMatchObject({
      source: `TripEventsStream/${SHARD}`,
      raw: end("t4", "2024-05-25 10:00:00"),
      failed_at: "2024-05-26 08:00:00",
    });

    // A redelivered batch rewrites the same trail object instead of adding one.
    await handler(batch, context());
    expect(await env.ws.failed("start")).toHaveLength(5);
    await p.match();
    expect(await keysOf("t1")).toEqual(["RAW#START#2024-05-25 10:00:00"]);
  });

  test("partial batch failure: a throttled write reports only its record, the rest are stored", async () => {
    const handler = createTripEventHandler("start", env.ws.deps(env.table));
    const batch = kinesisEvent(Array.from({ length: 30 }, (_, i) => start(`t${i}`, "2024-05-25 10:00:00")));
    env.table.throttle((item) => item.trip_id === "t7");

    const response = await handler(batch, context());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: batch.Records[7]!.kinesis.sequenceNumber }]);
    const stored = (await env.table.items()).map((item) => item.trip_id);
    expect(stored).toHaveLength(29);
    expect(stored).not.toContain("t7");

    // Lambda redelivers from the reported record; once the partition cools, it is stored.
    env.table.heal();
    expect(await handler({ Records: batch.Records.slice(7) }, context())).toEqual({ batchItemFailures: [] });
    expect(await env.table.items()).toHaveLength(30);
  });

  test("every record behind a throttled key is reported, duplicates included", async () => {
    const handler = createTripEventHandler("end", env.ws.deps(env.table));
    const batch = kinesisEvent([
      end("a", "2024-05-25 11:00:00"),
      end("b", "2024-05-25 11:00:00"),
      end("a", "2024-05-25 11:00:00"),
    ]);
    env.table.throttle((item) => item.trip_id === "a");
    const response = await handler(batch, context());
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      batch.Records[0]!.kinesis.sequenceNumber,
      batch.Records[2]!.kinesis.sequenceNumber,
    ]);
  });

  test("a duplicate in one batch is written once; same instant with other values: both kept whatever their order, the matcher keeps the least", async () => {
    const { logger, lines } = captureLogger();
    const p = pipeline({ logger });
    await p.begin(
      start("t1", "2024-05-25 10:00:00", "11"),
      start("t1", "2024-05-25 10:00:00", "10"),
      start("t1", "2024-05-25 10:00:00", "10.00"),
    );

    expect((await env.table.items()).map((item) => item.estimated_fare).sort()).toEqual(["10", "11"]); // "10" and "10.00" are one value
    const records = env.table.takeStream();
    expect(records).toHaveLength(2);
    expect(lines.find((l) => l.msg === "batch processed")).toMatchObject({
      level: "info",
      records: 3,
      stored: 2,
      duplicates: 1,
      rejected: 0,
      failed: 0,
    });
    await p.begin(start("t1", "2024-05-25 10:00:00", "11")); // a re-delivery rewrites its own item
    await p.match(records);
    expect(await env.table.items()).toEqual([
      expect.objectContaining({ sort_key: rawKey("RAW#START#2024-05-25 10:00:00"), estimated_fare: "10" }),
    ]);
  });

  test("when the failed trail is unavailable the invalid records are reported for retry, the valid ones stored", async () => {
    const broken: BlobStore = {
      put: async () => Promise.reject(new Error("S3 unavailable")),
      get: async () => undefined,
      getObject: async () => undefined,
      list: async () => [],
      delete: async () => {},
    };
    const handler = createTripEventHandler("start", env.ws.deps(env.table, { trail: new FailedTrail(broken) }));
    const batch = kinesisEvent([start("t1", "2024-05-25 10:00:00"), start("t2", "not a date")]);
    expect(await handler(batch, context())).toEqual({
      batchItemFailures: [{ itemIdentifier: batch.Records[1]!.kinesis.sequenceNumber }],
    });
    expect(await keysOf("t1")).toEqual(["RAW#START#2024-05-25 10:00:00"]);
  });
});

describe("matcher", () => {
  test("start then end: pending until both are there, then one COMPLETED item and no raw items", async () => {
    const p = pipeline();
    await p.begin(T1_START);
    expect(await p.match()).toEqual({ batchItemFailures: [] });
    expect(await keysOf("t1")).toEqual(["RAW#START#2024-05-25 10:00:00"]);

    await p.finish(T1_END);
    expect(await p.match()).toEqual({ batchItemFailures: [] });
    const items = await env.table.items();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject(T1_COMPLETED);
    expect(items[0]!.expires_at).toBeUndefined();
  });

  test("end then start gives the same completed trip", async () => {
    const p = pipeline();
    await p.finish(T1_END);
    await p.match();
    expect(await keysOf("t1")).toEqual(["RAW#END#2024-05-25 10:42:00"]);
    await p.begin(T1_START);
    await p.match();
    expect(await env.table.items()).toEqual([expect.objectContaining(T1_COMPLETED)]);
  });

  test("duplicates of each event, and every delivery twice, still make exactly one COMPLETED", async () => {
    const p = pipeline();
    await p.begin(T1_START, T1_START);
    await p.begin(T1_START);
    const first = env.table.takeStream();
    await p.finish(T1_END);
    await p.finish(T1_END, T1_END);
    const second = env.table.takeStream();
    for (const records of [first, first, second, [...first, ...second], second])
      expect(await p.match(records)).toEqual({ batchItemFailures: [] });
    expect(await env.table.items()).toEqual([expect.objectContaining(T1_COMPLETED)]);
  });

  test("a replay after completion is cleaned up and leaves the COMPLETED item untouched; a late earlier start re-matches the trip", async () => {
    const { logger, lines } = captureLogger();
    const p = pipeline({ logger });
    await p.begin(T1_START);
    await p.finish(T1_END);
    await p.match();
    const completed = await env.table.items();

    await p.begin(T1_START);
    await p.finish(T1_END);
    expect(await keysOf("t1")).toHaveLength(3);
    await p.match();
    expect(await env.table.items()).toEqual(completed);
    expect(lines.filter((l) => l.level === "warn")).toEqual([]);

    await p.begin(start("t1", "2024-05-25 09:55:00", "7", { vendor_id: "2" }));
    await p.match();
    expect(await env.table.items()).toEqual([
      expect.objectContaining({
        ...T1_COMPLETED,
        sort_key: "COMPLETED#2024-05-25 09:55:00",
        pickup_datetime: "2024-05-25 09:55:00",
        gsi1sk: "2024-05-25 09:55:00#t1",
        estimated_fare: "7",
      }),
    ]);
    expect(lines.find((l) => l.level === "warn")).toMatchObject({
      trip_id: "t1",
      pickup: "2024-05-25 09:55:00",
      replaced: ["2024-05-25 10:00:00"],
    });
  });

  test("a crash after the COMPLETED write and before the deletes: the retried batch converges", async () => {
    const p = pipeline();
    await p.begin(T1_START);
    await p.finish(T1_END);
    const records = env.table.takeStream();

    env.table.crashAfterWrites(1);
    const crashed = await p.match(records);
    expect(crashed.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      records.map((r) => r.dynamodb!.SequenceNumber),
    );
    expect(await keysOf("t1")).toEqual([
      "COMPLETED#2024-05-25 10:00:00",
      "RAW#END#2024-05-25 10:42:00",
      "RAW#START#2024-05-25 10:00:00",
    ]);

    env.table.heal();
    expect(await p.match(records)).toEqual({ batchItemFailures: [] });
    expect(await env.table.items()).toEqual([expect.objectContaining(T1_COMPLETED)]);
  });

  test("dropoff before pickup is an anomaly: trailed and warned once per trip, raw items kept; once the trip completes it is no longer reported", async () => {
    const { logger, lines } = captureLogger();
    const p = pipeline({ logger });
    await p.begin(start("t1", "2024-05-25 10:00:00"));
    await p.finish(end("t1", "2024-05-25 09:00:00"));
    const records = env.table.takeStream();
    await p.match(records);
    await p.match(records);

    expect(await keysOf("t1")).toEqual(["RAW#END#2024-05-25 09:00:00", "RAW#START#2024-05-25 10:00:00"]);
    const anomalies = await env.ws.failed("anomalies");
    expect(anomalies.map((a) => a.key)).toEqual([
      "failed/anomalies/anomaly-t1.jsonl",
      "failed/anomalies/anomaly-t1.jsonl",
    ]);
    expect(lines.filter((l) => String(l.msg).startsWith("anomaly trailed"))).toHaveLength(1);
    expect(anomalies.map((a) => [JSON.parse(a.record.raw).event_type, a.record.reason])).toEqual([
      ["start", "dropoff_before_pickup"],
      ["end", "dropoff_before_pickup"],
    ]);

    await p.finish(end("t1", "2024-05-25 10:30:00", "20"));
    await p.match();
    // The end before the pickup stays until its TTL: an earlier start would make it win.
    expect(await env.table.items()).toEqual([
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 10:00:00",
        dropoff_datetime: "2024-05-25 10:30:00",
        fare_amount: "20",
      }),
      expect.objectContaining({ sort_key: rawKey("RAW#END#2024-05-25 09:00:00") }),
    ]);
    expect(await env.ws.failed("anomalies")).toEqual([]);
  });

  test("conflicting events: the earliest start wins with the earliest end not before it, and the choice is logged", async () => {
    const { logger, lines } = captureLogger();
    const p = pipeline({ logger });
    await p.begin(start("t1", "2024-05-25 10:05:00", "9"), start("t1", "2024-05-25 10:00:00", "8"));
    await p.finish(
      end("t1", "2024-05-25 11:00:00", "30"),
      end("t1", "2024-05-25 09:00:00", "1"),
      end("t1", "2024-05-25 10:30:00", "20"),
    );
    await p.match();
    expect(await env.table.items()).toEqual([
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 10:00:00",
        estimated_fare: "8",
        dropoff_datetime: "2024-05-25 10:30:00",
        fare_amount: "20",
      }),
      expect.objectContaining({ sort_key: rawKey("RAW#END#2024-05-25 09:00:00"), fare_amount: "1" }),
    ]);
    expect(
      lines.find((l) => String(l.msg).endsWith("the earliest start wins, with the earliest end not before it")),
    ).toMatchObject({
      level: "warn",
      trip_id: "t1",
      pickup: "2024-05-25 10:00:00",
      dropoff: "2024-05-25 10:30:00",
    });
  });

  test("a transient failure on one trip reports only that trip's records", async () => {
    const p = pipeline();
    await p.begin(start("t1", "2024-05-25 10:00:00"), start("t2", "2024-05-25 10:00:00"));
    await p.finish(end("t1", "2024-05-25 11:00:00"), end("t2", "2024-05-25 11:00:00"));
    const records = env.table.takeStream();
    env.table.throttle((key) => key.trip_id === "t2" && String(key.sort_key).startsWith("RAW#"));

    const response = await p.match(records);
    const t2 = records.filter((r) => r.dynamodb!.Keys!.trip_id!.S === "t2").map((r) => r.dynamodb!.SequenceNumber);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(t2.sort());
    expect(await keysOf("t1")).toEqual(["COMPLETED#2024-05-25 10:00:00"]);

    env.table.heal();
    expect(await p.match(records.filter((r) => t2.includes(r.dynamodb!.SequenceNumber)))).toEqual({
      batchItemFailures: [],
    });
    expect(await keysOf("t2")).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
  });

  test("records that are not RAW inserts are skipped, not retried", async () => {
    const p = pipeline();
    await p.begin(start("t1", "2024-05-25 10:00:00"));
    const [insert] = env.table.takeStream();
    const remove = { ...insert!, eventName: "REMOVE" as const };
    const completed = {
      ...insert!,
      dynamodb: { ...insert!.dynamodb, Keys: { trip_id: { S: "t1" }, sort_key: { S: "COMPLETED#x" } } },
    };
    expect(await p.match([remove, completed])).toEqual({ batchItemFailures: [] });
  });
});

describe("DynamoDB operations per completed trip", () => {
  async function countOps(run: (p: ReturnType<typeof pipeline>) => Promise<void>) {
    const ops = { itemWrites: 0, queries: 0, calls: [] as string[] };
    env.table.afterCall = async (command, input) => {
      ops.calls.push(command.replace(/Command$/, ""));
      if (command === "QueryCommand") ops.queries += 1;
      if (command === "PutItemCommand") ops.itemWrites += 1;
      if (command === "BatchWriteItemCommand")
        ops.itemWrites += Object.values(input.RequestItems as Record<string, unknown[]>).flat().length;
    };
    await run(pipeline());
    expect(await env.table.items()).toEqual([expect.objectContaining({ sort_key: "COMPLETED#2024-05-25 10:00:00" })]);
    return ops;
  }

  test("events in separate matcher batches: 5 item writes, 3 queries", async () => {
    const ops = await countOps(async (p) => {
      await p.begin(T1_START);
      await p.match();
      await p.finish(T1_END);
      await p.match();
    });
    expect(ops).toEqual({
      itemWrites: 5,
      queries: 3,
      calls: ["BatchWriteItem", "Query", "BatchWriteItem", "Query", "PutItem", "Query", "BatchWriteItem"],
    });
  });

  test("both events in one matcher batch: the trip is settled once, 5 item writes, 2 queries", async () => {
    const ops = await countOps(async (p) => {
      await p.begin(T1_START);
      await p.finish(T1_END);
      await p.match();
    });
    expect(ops).toEqual({
      itemWrites: 5,
      queries: 2,
      calls: ["BatchWriteItem", "BatchWriteItem", "Query", "PutItem", "Query", "BatchWriteItem"],
    });
  });
});
