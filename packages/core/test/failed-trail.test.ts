import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FolderBlobStore } from "../src/store/blob-store.js";
import { type FailedRecord, FailedTrail } from "../src/store/failed-trail.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "trail-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const record = (row: number): FailedRecord => ({
  source: "trip_start.csv",
  row,
  line: row + 1,
  raw: `t${row},2024-02-30 10:00:00,1`,
  reason: "invalid_calendar_datetime",
  field: "pickup_datetime",
  message: '"2024-02-30 10:00:00" is not a real calendar instant',
  failed_at: "2024-05-25 10:00:00",
});

describe("FailedTrail on a folder bucket", () => {
  test("writes JSON Lines under failed/<kind>/<day>/ and reads them back", async () => {
    const trail = new FailedTrail(new FolderBlobStore(root));
    const key = await trail.write("start", "shard-1/100-200", [record(1), record(2)]);
    expect(key).toBe("failed/start/2024-05-25/shard-1_100-200.jsonl");
    const read = [];
    for await (const entry of trail.read("start")) read.push(entry.record);
    expect(read).toEqual([record(1), record(2)]);
  });

  test("a retried batch with the same id overwrites instead of duplicating", async () => {
    const trail = new FailedTrail(new FolderBlobStore(root));
    await trail.write("end", "b1", [record(1)]);
    await trail.write("end", "b1", [record(1)]);
    let count = 0;
    for await (const _ of trail.read("end")) count += 1;
    expect(count).toBe(1);
  });

  test("an empty batch writes nothing", async () => {
    const store = new FolderBlobStore(root);
    expect(await new FailedTrail(store).write("end", "b", [])).toBeUndefined();
    expect(await store.list("failed/")).toEqual([]);
  });
});
