import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replayFailed } from "@trip-pipeline/core/ingest/replay";
import { KinesisRecordSink, type RecordSink } from "@trip-pipeline/core/ingest/sink";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FailedRecord, FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { useLocalKinesis } from "../../support/local-kinesis.js";
import {
  consumerRecord,
  endA,
  listTrail,
  readTrail,
  seedTrail,
  startA,
  startB,
  streamRecords,
  wire,
} from "../../support/replay-trail.js";

const local = useLocalKinesis(2, "TripEvents");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "replay-failed-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("replayFailed", () => {
  test("dry run: re-validates both record shapes, reports, sends and moves nothing", async () => {
    await seedTrail(dir);
    const before = await listTrail(dir);
    const summary = await replayFailed({
      store: new FolderBlobStore(join(dir, "bucket")),
      kinds: ["start", "end"],
      dryRun: true,
    });
    expect(summary).toEqual({
      start: {
        read: 4,
        valid: 2,
        sent: 0,
        failed: 0,
        invalid: 2,
        reasons: { invalid_calendar_datetime: 1, header_unknown: 1 },
      },
      end: { read: 1, valid: 1, sent: 0, failed: 0, invalid: 0, reasons: {} },
    });
    expect(await listTrail(dir)).toEqual(before);
    expect(await streamRecords(local)).toEqual([]);
  });

  test("re-sends the now-valid records as wire events keyed by trip_id; a second run sends nothing", async () => {
    const { startKey, csvKey, endKey } = await seedTrail(dir);
    const store = new FolderBlobStore(join(dir, "bucket"));
    const sink = new KinesisRecordSink(local.kinesis, local.stream);

    const first = await replayFailed({ store, sink, kinds: ["start", "end"] });
    expect(first.start).toMatchObject({ read: 4, valid: 2, sent: 2, failed: 0, invalid: 2 });
    expect(first.end).toMatchObject({ read: 1, valid: 1, sent: 1, failed: 0, invalid: 0 });
    const expected = [
      { partitionKey: "trip-a", data: wire(startA, "start") },
      { partitionKey: "trip-a", data: wire(endA, "end") },
      { partitionKey: "trip-b", data: wire(startB, "start") },
    ].sort((a, b) => a.data.localeCompare(b.data));
    expect(await streamRecords(local)).toEqual(expected);

    // Sent records moved out of the trail; the still-invalid ones stay where they were.
    expect(await readTrail(dir, "start")).toEqual([
      { key: startKey, trip: "trip-x" },
      { key: csvKey, trip: "trip-c" },
    ]);
    expect(await readTrail(dir, "end")).toEqual([]);
    expect(await listTrail(dir)).toEqual(
      [
        csvKey.replace("failed/", "failed/replayed/"),
        startKey.replace("failed/", "failed/replayed/"),
        endKey.replace("failed/", "failed/replayed/"),
        startKey,
        csvKey,
      ].sort(),
    );

    const replayedTrips = async (key: string) =>
      ((await store.get(key.replace("failed/", "failed/replayed/"))) ?? "")
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as FailedRecord).raw.match(/trip-[a-z]/)![0]);
    expect([await replayedTrips(startKey), await replayedTrips(csvKey), await replayedTrips(endKey)]).toEqual([
      ["trip-a"],
      ["trip-b"],
      ["trip-a"],
    ]);

    const second = await replayFailed({ store, sink, kinds: ["start", "end"] });
    expect(second).toEqual({
      start: {
        read: 2,
        valid: 0,
        sent: 0,
        failed: 0,
        invalid: 2,
        reasons: { invalid_calendar_datetime: 1, header_unknown: 1 },
      },
      end: { read: 0, valid: 0, sent: 0, failed: 0, invalid: 0, reasons: {} },
    });
    expect(await streamRecords(local)).toEqual(expected);
  });

  test("records the stream does not take stay in the trail, untouched", async () => {
    const { endKey } = await seedTrail(dir);
    const store = new FolderBlobStore(join(dir, "bucket"));
    const refusing: RecordSink = {
      put: async (records) => records.map(() => ({ ok: false, retryable: false, reason: "AccessDeniedException: no" })),
      shardCount: async () => 1,
    };
    const summary = await replayFailed({ store, sink: refusing, kinds: ["end"] });
    expect(summary.end).toMatchObject({ read: 1, valid: 1, sent: 0, failed: 1 });
    expect(await readTrail(dir, "end")).toEqual([{ key: endKey, trip: "trip-a" }]);
    expect((await listTrail(dir)).some((key) => key.startsWith("failed/replayed/"))).toBe(false);
  });

  test("a record over Kinesis's 1 MiB limit counts as still invalid, not as a delivery to retry, and stays", async () => {
    const store = new FolderBlobStore(join(dir, "bucket"));
    const huge = wire({ ...startA, estimated_fare_amount: `12.${"0".repeat(1_100_000)}` }, "start");
    const key = await new FailedTrail(store).write("start", "shard0-7-8", [
      consumerRecord(huge, "7"),
      consumerRecord(wire(startB, "start"), "8"),
    ]);
    const summary = await replayFailed({
      store,
      sink: new KinesisRecordSink(local.kinesis, local.stream),
      kinds: ["start"],
    });
    expect(summary.start).toEqual({
      read: 2,
      valid: 1,
      sent: 1,
      failed: 0,
      invalid: 1,
      reasons: { record_too_large: 1 },
    });
    expect(await readTrail(dir, "start")).toEqual([{ key, trip: "trip-a" }]);
    expect(await streamRecords(local)).toEqual([{ partitionKey: "trip-b", data: wire(startB, "start") }]);
  });
});
