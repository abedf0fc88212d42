/**
 * Point 3 on the local AWS (`pnpm start`'s runtime) with the deployed handlers and filters:
 * records that no filter on `data` can match are put on the stream, and every record ends in
 * exactly one place: the table, the failed trail, or nowhere else (no DLQ, nothing dropped).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FailedRecord, FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { afterAll, beforeAll, expect, test } from "vitest";
import { LocalAws } from "../src/runtime.js";

const start = (trip_id: string, pickup: string) =>
  JSON.stringify({ event_type: "start", trip_id, pickup_datetime: pickup, estimated_fare_amount: "10.25" });
const end = (trip_id: string, dropoff: string, fare = "12.5") =>
  JSON.stringify({ event_type: "end", trip_id, dropoff_datetime: dropoff, fare_amount: fare });

const REPO_ROOT = resolve(import.meta.dirname, "..", "..", "..");
let root: string;
let aws: LocalAws;

const RECORDS = [
  start("s1", "2024-05-25 10:00:00"),
  end("s1", "2024-05-25 10:30:00"),
  "not json at all",
  JSON.stringify({ event_type: "cancel", trip_id: "x" }),
  JSON.stringify({ trip_id: "y", fare_amount: "1" }),
  "[1, 2, 3]",
  end("big", "2024-05-25 10:30:00", `0.${"0".repeat(130)}1`),
];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "local-stream-"));
  aws = await LocalAws.start({ root, kinesisShards: 2 });
  await aws.startConsumers({ repoRoot: REPO_ROOT, batchingWindowMs: 20, pollIntervalMs: 5, retryDelayMs: 1 });
  await aws.kinesis.send(
    new PutRecordsCommand({
      StreamName: TRIP_STREAM.name,
      Records: RECORDS.map((data, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(data) })),
    }),
  );
  await aws.drain();
}, 60_000);
afterAll(async () => {
  await aws?.close();
  await rm(root, { recursive: true, force: true });
});

test("records no data filter can match reach the catch-all and the trail with their reason; the valid trip completes; no DLQ", async () => {
  const trail = new FailedTrail(new FolderBlobStore(aws.bucketDir));
  const trailed: FailedRecord[] = [];
  for (const kind of ["start", "end"] as const) for await (const { record } of trail.read(kind)) trailed.push(record);
  expect(trailed.map((r) => [r.raw, r.reason]).sort()).toEqual(
    [
      [RECORDS[2], "invalid_json"],
      [RECORDS[3], "invalid_event_type"],
      [RECORDS[4], "invalid_event_type"],
      [RECORDS[5], "invalid_json"],
      [RECORDS[6], "invalid_fare"],
    ].sort(),
  );
  const items = (await aws.db.send(new ScanCommand({ TableName: aws.tableName }))).Items ?? [];
  // The trip items; the live KPI aggregates of the day (KPI#<date>) live in the same table.
  const tripItems = items.filter((item) => !String(item.trip_id).startsWith("KPI#"));
  expect(tripItems.map((item) => `${item.trip_id} ${item.sort_key}`)).toEqual(["s1 COMPLETED#2024-05-25 10:00:00"]);
  const stats = aws.stats().consumers;
  expect(stats.tripBegin).toMatchObject({ read: RECORDS.length, delivered: 1, toDlq: 0 });
  expect(stats.tripFinish).toMatchObject({ read: RECORDS.length, delivered: RECORDS.length, filteredOut: 0, toDlq: 0 });
  expect(await readdir(aws.dlqDir).catch(() => [])).toEqual([]);
});
