import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWireEvent, FailedTrail, FolderBlobStore, KinesisRecordSink, validateEvent, type FailedRecord, type RecordSink } from "@trip-pipeline/core";
import { kinesisSource } from "@trip-pipeline/core/local/shard-readers";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { replayFailed } from "../replay-failed";
import { useLocalKinesis } from "../../packages/core/test/support/local-kinesis";
import { runCli, TSX } from "./support/run-cli";

const START_HEADER = "trip_id,pickup_datetime,estimated_fare_amount,vendor_id";
const FAILED_AT = "2026-11-20 10:00:00";

const local = useLocalKinesis(2, "TripEvents");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "replay-failed-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const wire = (record: Record<string, string>, kind: "start" | "end") => {
  const checked = validateEvent(kind, record);
  if (!checked.ok) throw new Error("test event must be valid");
  return encodeWireEvent(checked.value);
};
const consumerRecord = (raw: string, sequence: string): FailedRecord => ({
  source: "TripEventsStream/shardId-000000000000",
  sequence_number: sequence,
  raw,
  reason: "invalid_fare",
  field: "estimated_fare_amount",
  message: "rejected by an older rule",
  failed_at: FAILED_AT,
});
const csvRecord = (source: string, row: number, raw: string): FailedRecord => ({
  source,
  row,
  line: row + 1,
  raw,
  reason: "delivery_failed",
  message: "ProvisionedThroughputExceededException (gave up after 8 attempts)",
  failed_at: FAILED_AT,
});

const startA = { trip_id: "trip-a", pickup_datetime: "2024-05-25 08:00:00", estimated_fare_amount: "12.50" };
const startB = { trip_id: "trip-b", pickup_datetime: "2024-05-25 09:00:00", estimated_fare_amount: "7.10", vendor_id: "2" };
const endA = { trip_id: "trip-a", dropoff_datetime: "2024-05-25 08:20:00", fare_amount: "13.00" };

/**
 * A trail as the consumers and ingest leave it: per kind, valid-now records, records still
 * invalid, and an ingest row whose CSV source is gone.
 */
async function seedTrail() {
  const csvFile = join(dir, "trip_start.csv");
  await writeFile(csvFile, `${START_HEADER}\ntrip-b,2024-05-25 09:00:00,7.10,2\n`);
  const trail = new FailedTrail(new FolderBlobStore(join(dir, "bucket")));
  const startKey = await trail.write("start", "shard0-1-9", [
    consumerRecord(wire(startA, "start"), "1"),
    consumerRecord('{"event_type":"start","trip_id":"trip-x","pickup_datetime":"2024-13-01 00:00:00","estimated_fare_amount":"1"}', "9"),
  ]);
  const csvKey = await trail.write("start", "trip_start.csv-rows-1-2", [
    csvRecord(csvFile, 1, "trip-b,2024-05-25 09:00:00,7.10,2"),
    csvRecord(join(dir, "gone.csv"), 2, "trip-c,2024-05-25 10:00:00,3.00"),
  ]);
  const endKey = await trail.write("end", "shard1-4-4", [consumerRecord(wire(endA, "end"), "4")]);
  return { startKey: startKey!, csvKey: csvKey!, endKey: endKey! };
}

/** Everything on the stream, read from the start of every shard. */
async function streamRecords(): Promise<{ partitionKey: string; data: string }[]> {
  const records: { partitionKey: string; data: string }[] = [];
  for (const shard of (await kinesisSource(local.kinesis, local.stream, "eu-north-1")).shards)
    for (const { event } of await shard.read(10_000)) {
      const { partitionKey, data } = (event as { kinesis: { partitionKey: string; data: string } }).kinesis;
      records.push({ partitionKey, data: Buffer.from(data, "base64").toString("utf8") });
    }
  return records.sort((a, b) => a.data.localeCompare(b.data));
}

const listTrail = async () => (await readdir(join(dir, "bucket"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(join(dir, "bucket").length + 1)).sort();
const readTrail = async (kind: "start" | "end") => {
  const out: { key: string; trip: string }[] = [];
  for await (const { key, record } of new FailedTrail(new FolderBlobStore(join(dir, "bucket"))).read(kind)) out.push({ key, trip: record.raw.split(/[,"]/).find((s) => s.startsWith("trip-"))! });
  return out;
};

describe("replayFailed", () => {
  test("dry run: re-validates both record shapes, reports, sends and moves nothing", async () => {
    await seedTrail();
    const before = await listTrail();
    const summary = await replayFailed({ store: new FolderBlobStore(join(dir, "bucket")), kinds: ["start", "end"], dryRun: true });
    expect(summary).toEqual({
      start: { read: 4, valid: 2, sent: 0, failed: 0, invalid: 2, reasons: { invalid_calendar_datetime: 1, header_unknown: 1 } },
      end: { read: 1, valid: 1, sent: 0, failed: 0, invalid: 0, reasons: {} },
    });
    expect(await listTrail()).toEqual(before);
    expect(await streamRecords()).toEqual([]);
  });

  test("re-sends the now-valid records as wire events keyed by trip_id; a second run sends nothing", async () => {
    const { startKey, csvKey, endKey } = await seedTrail();
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
    expect(await streamRecords()).toEqual(expected);

    // Sent records moved out of the trail; the still-invalid ones stay where they were.
    expect(await readTrail("start")).toEqual([
      { key: startKey, trip: "trip-x" },
      { key: csvKey, trip: "trip-c" },
    ]);
    expect(await readTrail("end")).toEqual([]);
    expect(await listTrail()).toEqual([
      csvKey.replace("failed/", "failed/replayed/"),
      startKey.replace("failed/", "failed/replayed/"),
      endKey.replace("failed/", "failed/replayed/"),
      startKey,
      csvKey,
    ].sort());

    const replayedTrips = async (key: string) => ((await store.get(key.replace("failed/", "failed/replayed/"))) ?? "").trim().split("\n").map((line) => (JSON.parse(line) as FailedRecord).raw.match(/trip-[a-z]/)![0]);
    expect([await replayedTrips(startKey), await replayedTrips(csvKey), await replayedTrips(endKey)]).toEqual([["trip-a"], ["trip-b"], ["trip-a"]]);

    const second = await replayFailed({ store, sink, kinds: ["start", "end"] });
    expect(second).toEqual({
      start: { read: 2, valid: 0, sent: 0, failed: 0, invalid: 2, reasons: { invalid_calendar_datetime: 1, header_unknown: 1 } },
      end: { read: 0, valid: 0, sent: 0, failed: 0, invalid: 0, reasons: {} },
    });
    expect(await streamRecords()).toEqual(expected);
  });

  test("records the stream does not take stay in the trail, untouched", async () => {
    const { endKey } = await seedTrail();
    const store = new FolderBlobStore(join(dir, "bucket"));
    const refusing: RecordSink = {
      put: async (records) => records.map(() => ({ ok: false, retryable: false, reason: "AccessDeniedException: no" })),
      shardCount: async () => 1,
    };
    const summary = await replayFailed({ store, sink: refusing, kinds: ["end"] });
    expect(summary.end).toMatchObject({ read: 1, valid: 1, sent: 0, failed: 1 });
    expect(await readTrail("end")).toEqual([{ key: endKey, trip: "trip-a" }]);
    expect((await listTrail()).some((key) => key.startsWith("failed/replayed/"))).toBe(false);
  });

  test("a record over Kinesis's 1 MiB limit counts as still invalid, not as a delivery to retry, and stays", async () => {
    const store = new FolderBlobStore(join(dir, "bucket"));
    const huge = wire({ ...startA, estimated_fare_amount: `12.${"0".repeat(1_100_000)}` }, "start");
    const key = await new FailedTrail(store).write("start", "shard0-7-8", [consumerRecord(huge, "7"), consumerRecord(wire(startB, "start"), "8")]);
    const summary = await replayFailed({ store, sink: new KinesisRecordSink(local.kinesis, local.stream), kinds: ["start"] });
    expect(summary.start).toEqual({ read: 2, valid: 1, sent: 1, failed: 0, invalid: 1, reasons: { record_too_large: 1 } });
    expect(await readTrail("start")).toEqual([{ key, trip: "trip-a" }]);
    expect(await streamRecords()).toEqual([{ partitionKey: "trip-b", data: wire(startB, "start") }]);
  });
});

const run = (args: string[]) => runCli(TSX, ["scripts/replay-failed.ts", ...args], { LOG_LEVEL: "silent" });

describe("pnpm replay-failed", () => {
  test("--endpoint --trail-dir --kind end --json: one JSON summary, exit 0", async () => {
    await seedTrail();
    const { code, stdout } = await run(["--endpoint", local.server.endpoint, "--stream", local.stream, "--trail-dir", join(dir, "bucket"), "--kind", "end", "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ end: { read: 1, valid: 1, sent: 1, failed: 0, invalid: 0, reasons: {} } });
    expect(await streamRecords()).toEqual([{ partitionKey: "trip-a", data: wire(endA, "end") }]);
  });

  test("--dry-run prints a table and warns about records still invalid; bad options exit 1 with usage", async () => {
    await seedTrail();
    const dry = await run(["--trail-dir", join(dir, "bucket"), "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^kind\s+read\s+valid\s+sent\s+failed\s+invalid/);
    expect(dry.stdout).toMatch(/start\s+4\s+2\s+0\s+0\s+2\s+invalid_calendar_datetime=1 header_unknown=1/);
    expect(dry.stderr).toContain("warning: 2 records are still invalid");

    const bad = await run(["--stage", "prod", "--trail-dir", "x"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("error: with --stage");
    expect(bad.stderr).toContain("usage: pnpm replay-failed");
  });
});
