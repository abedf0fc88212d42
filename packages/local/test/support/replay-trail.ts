/** A failed trail as the consumers and ingest leave it, and readers of the stream and the trail, for the replay suites. */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeWireEvent, validateEvent } from "@trip-pipeline/core/domain/events";
import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FailedRecord, FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { kinesisSource } from "../../src/shard-readers.js";
import type { LocalKinesis } from "./local-kinesis.js";

export const START_HEADER = "trip_id,pickup_datetime,estimated_fare_amount,vendor_id";
const FAILED_AT = "2026-11-20 10:00:00";

export const wire = (record: Record<string, string>, kind: "start" | "end") => {
  const checked = validateEvent(kind, record);
  if (!checked.ok) throw new Error("test event must be valid");
  return encodeWireEvent(checked.value);
};
export const consumerRecord = (raw: string, sequence: string): FailedRecord => ({
  source: "TripEventsStream/shardId-000000000000",
  sequence_number: sequence,
  raw,
  reason: "invalid_fare",
  field: "estimated_fare_amount",
  message: "rejected by an older rule",
  failed_at: FAILED_AT,
});
export const csvRecord = (source: string, row: number, raw: string): FailedRecord => ({
  source,
  row,
  line: row + 1,
  raw,
  reason: "delivery_failed",
  message: "ProvisionedThroughputExceededException (gave up after 8 attempts)",
  failed_at: FAILED_AT,
});

export const startA = { trip_id: "trip-a", pickup_datetime: "2024-05-25 08:00:00", estimated_fare_amount: "12.50" };
export const startB = {
  trip_id: "trip-b",
  pickup_datetime: "2024-05-25 09:00:00",
  estimated_fare_amount: "7.10",
  vendor_id: "2",
};
export const endA = { trip_id: "trip-a", dropoff_datetime: "2024-05-25 08:20:00", fare_amount: "13.00" };

/**
 * A trail as the consumers and ingest leave it: per kind, valid-now records, records still
 * invalid, and an ingest row whose CSV source is gone.
 */
export async function seedTrail(dir: string) {
  const csvFile = join(dir, "trip_start.csv");
  await writeFile(csvFile, `${START_HEADER}\ntrip-b,2024-05-25 09:00:00,7.10,2\n`);
  const trail = new FailedTrail(new FolderBlobStore(join(dir, "bucket")));
  const startKey = await trail.write("start", "shard0-1-9", [
    consumerRecord(wire(startA, "start"), "1"),
    consumerRecord(
      '{"event_type":"start","trip_id":"trip-x","pickup_datetime":"2024-13-01 00:00:00","estimated_fare_amount":"1"}',
      "9",
    ),
  ]);
  const csvKey = await trail.write("start", "trip_start.csv-rows-1-2", [
    csvRecord(csvFile, 1, "trip-b,2024-05-25 09:00:00,7.10,2"),
    csvRecord(join(dir, "gone.csv"), 2, "trip-c,2024-05-25 10:00:00,3.00"),
  ]);
  const endKey = await trail.write("end", "shard1-4-4", [consumerRecord(wire(endA, "end"), "4")]);
  return { startKey: startKey!, csvKey: csvKey!, endKey: endKey! };
}

/** Everything on the stream, read from the start of every shard. */
export async function streamRecords(local: LocalKinesis): Promise<{ partitionKey: string; data: string }[]> {
  const records: { partitionKey: string; data: string }[] = [];
  for (const shard of (await kinesisSource(local.kinesis, local.stream, DEFAULT_REGION)).shards)
    for (const { event } of await shard.read(10_000)) {
      const { partitionKey, data } = (event as { kinesis: { partitionKey: string; data: string } }).kinesis;
      records.push({ partitionKey, data: Buffer.from(data, "base64").toString("utf8") });
    }
  return records.sort((a, b) => a.data.localeCompare(b.data));
}

export const listTrail = async (dir: string) =>
  (await readdir(join(dir, "bucket"), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(join(dir, "bucket").length + 1))
    .sort();
export const readTrail = async (dir: string, kind: "start" | "end") => {
  const out: { key: string; trip: string }[] = [];
  for await (const { key, record } of new FailedTrail(new FolderBlobStore(join(dir, "bucket"))).read(kind))
    out.push({ key, trip: record.raw.split(/[,"]/).find((s) => s.startsWith("trip-"))! });
  return out;
};
