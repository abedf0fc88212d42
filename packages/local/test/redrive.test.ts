/**
 * pnpm redrive's library against the embedded runtime's failed batches: tripBegin fails every
 * batch during an "outage" (its batches land in the bucket folder as Lambda's S3 on-failure
 * destination writes them), then the fixed function (the real handler) replays them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { encodeWireEvent, type TripEvent } from "@trip-pipeline/core/domain/events";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import {
  CONSUMERS,
  FAILED_BATCH_PREFIX,
  REDRIVEN_PREFIX,
  TRIP_STREAM,
} from "@trip-pipeline/core/platform/pipeline-spec";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FunctionInvoker, redrive } from "@trip-pipeline/core/streams/redrive";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { importHandler, LocalFunction } from "../src/lambda.js";
import { LocalAws } from "../src/runtime.js";
import { outage } from "./support/local-handlers.js";

const REPO_ROOT = resolve(import.meta.dirname, "..", "..", "..");
const logger = createLogger("redrive-test");
let root: string;
let aws: LocalAws;
let bucket: FolderBlobStore;
/** The fixed tripBegin: the deployed handler, under the name of the function that failed the batches. */
let fixed: LocalFunction;

const starts: TripEvent[] = [
  { event_type: "start", trip_id: "r1", pickup_datetime: "2024-03-01 08:00:00", estimated_fare_amount: "10.00" },
  { event_type: "start", trip_id: "r2", pickup_datetime: "2024-03-01 09:00:00", estimated_fare_amount: "12.50" },
];
const ends: TripEvent[] = [
  { event_type: "end", trip_id: "r1", dropoff_datetime: "2024-03-01 08:20:00", fare_amount: "11.25" },
  { event_type: "end", trip_id: "r2", dropoff_datetime: "2024-03-01 09:40:00", fare_amount: "13.00" },
];

const invoker = (fn: LocalFunction): FunctionInvoker => ({
  invoke: async (functionArn, event) => {
    expect(functionArn).toBe(fn.arn);
    return fn.invoke(event);
  },
});

async function itemsOf(tripId: string): Promise<string[]> {
  const { Items = [] } = await aws.db.send(
    new QueryCommand({
      TableName: aws.tableName,
      KeyConditionExpression: "trip_id = :t",
      ExpressionAttributeValues: { ":t": tripId },
    }),
  );
  return Items.map((item) => String(item.sort_key)).sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "redrive-"));
  aws = await LocalAws.start({ root, kinesisShards: 1 });
  await aws.startConsumers({
    repoRoot: REPO_ROOT,
    handlers: { tripBegin: outage },
    batchingWindowMs: 20,
    pollIntervalMs: 5,
    retryDelayMs: 1,
  });
  const put = (events: TripEvent[]) =>
    events.map((event) => ({ PartitionKey: event.trip_id, Data: Buffer.from(encodeWireEvent(event)) }));
  await aws.kinesis.send(
    new PutRecordsCommand({ StreamName: TRIP_STREAM.name, Records: [...put(starts), ...put(ends)] }),
  );
  await aws.drain();
  bucket = new FolderBlobStore(aws.bucketDir);
  fixed = new LocalFunction(
    `trip-pipeline-local-tripBegin`,
    await importHandler(REPO_ROOT, CONSUMERS.tripBegin.handler, aws.platform),
    { region: aws.region, timeoutMs: 60_000 },
  );
});
afterAll(async () => {
  await aws?.close();
  await rm(root, { recursive: true, force: true });
});

describe("redrive", () => {
  test("the outage left the starts in failed batches under aws/lambda/, and the trips pending", async () => {
    expect(aws.stats().consumers.tripBegin!.toDlq).toBe(2);
    expect(await bucket.list(FAILED_BATCH_PREFIX)).not.toEqual([]);
    expect(await itemsOf("r1")).toEqual([expect.stringMatching(/^RAW#END#2024-03-01 08:20:00/)]);
  });

  test("--dry-run lists each failed batch with its function and records, and changes nothing", async () => {
    const before = await bucket.list(FAILED_BATCH_PREFIX);
    const report = await redrive({
      store: bucket,
      invoker: { invoke: () => Promise.reject(new Error("a dry run invokes nothing")) },
      logger,
      dryRun: true,
    });
    expect(report.dryRun).toBe(true);
    expect(
      report.batches.every(
        (b) =>
          b.outcome === "would_replay" &&
          b.functionArn === fixed.arn &&
          b.source === "kinesis" &&
          b.condition === "RetryAttemptsExhausted",
      ),
    ).toBe(true);
    expect(report.totals).toMatchObject({
      batches: before.length,
      records: 2,
      replayed: 0,
      remaining: 2,
      failedBatches: 0,
    });
    expect(await bucket.list(FAILED_BATCH_PREFIX)).toEqual(before);
  });

  test("a replay that fails again keeps the batch whole, and says why", async () => {
    const report = await redrive({
      store: bucket,
      invoker: { invoke: () => Promise.reject(new Error("still down")) },
      logger,
    });
    expect(report.batches.every((b) => b.outcome === "failed" && b.reason === "Error: still down")).toBe(true);
    expect(report.totals).toMatchObject({ records: 2, remaining: 2 });
  });

  test("a partial failure keeps only the records at or after the lowest reported sequence number, wherever they are in the batch", async () => {
    const [first] = await bucket.list(FAILED_BATCH_PREFIX);
    const original = JSON.parse((await bucket.get(first!))!);
    const records = original.payload.Records as { kinesis: { sequenceNumber: string } }[];
    // Two records out of order, the later one (first in the array) reported as failed: the earlier one must not be kept.
    const later = { ...records[0], kinesis: { ...records[0]!.kinesis, sequenceNumber: "999" } };
    const earlier = { ...records[0], kinesis: { ...records[0]!.kinesis, sequenceNumber: "998" } };
    const twoRecords = { ...original, payload: { Records: [later, earlier] } };
    const store = new FolderBlobStore(join(root, "partial"));
    await store.put(first!, JSON.stringify(twoRecords));
    const report = await redrive({
      store,
      invoker: { invoke: async () => ({ batchItemFailures: [{ itemIdentifier: "999" }] }) },
      logger,
    });
    expect(report.batches[0]).toMatchObject({ outcome: "partially_replayed", replayed: 1, remaining: 1 });
    const kept = JSON.parse((await store.get(first!))!);
    expect(kept.payload.Records.map((r: { kinesis: { sequenceNumber: string } }) => r.kinesis.sequenceNumber)).toEqual([
      "999",
    ]);
  });

  test("replays through the same handler code: the starts are stored, the matcher completes the trips; a second run replays nothing", async () => {
    const report = await redrive({ store: bucket, invoker: invoker(fixed), logger });
    expect(report.batches.every((b) => b.outcome === "replayed" && b.movedTo === `${REDRIVEN_PREFIX}${b.key}`)).toBe(
      true,
    );
    expect(report.totals).toMatchObject({ records: 2, replayed: 2, remaining: 0, failedBatches: 0 });
    expect(await bucket.list(FAILED_BATCH_PREFIX)).toEqual([]);
    expect(await bucket.list(`${REDRIVEN_PREFIX}${FAILED_BATCH_PREFIX}`)).toHaveLength(report.batches.length);

    await aws.drain();
    expect(await itemsOf("r1")).toEqual(["COMPLETED#2024-03-01 08:00:00"]);
    expect(await itemsOf("r2")).toEqual(["COMPLETED#2024-03-01 09:00:00"]);

    const again = await redrive({ store: bucket, invoker: invoker(fixed), logger });
    expect(again.totals).toMatchObject({ batches: 0, records: 0 });
  });

  test("replaying a batch twice (a crash between copy and delete) changes nothing", async () => {
    const [moved] = await bucket.list(`${REDRIVEN_PREFIX}${FAILED_BATCH_PREFIX}`);
    const key = moved!.slice(REDRIVEN_PREFIX.length);
    await bucket.put(key, (await bucket.get(moved!))!);
    const report = await redrive({ store: bucket, invoker: invoker(fixed), logger });
    expect(report.totals).toMatchObject({ batches: 1, remaining: 0 });
    await aws.drain();
    expect(await itemsOf("r1")).toEqual(["COMPLETED#2024-03-01 08:00:00"]);
    expect(await itemsOf("r2")).toEqual(["COMPLETED#2024-03-01 09:00:00"]);
  });

  test("an object that is not a failed batch is reported unreadable and left in place", async () => {
    const store = new FolderBlobStore(join(root, "junk"));
    await store.put(`${FAILED_BATCH_PREFIX}x/shard/2024/01/01/junk`, "{not json");
    const report = await redrive({ store, invoker: invoker(fixed), logger });
    expect(report.batches[0]).toMatchObject({ outcome: "unreadable" });
    expect(report.totals.failedBatches).toBe(1);
    expect(await store.list(FAILED_BATCH_PREFIX)).toHaveLength(1);
  });
});
