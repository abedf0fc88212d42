import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StartEvent, TripEvent } from "@trip-pipeline/core/domain/events";
import { type BlobStore, FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { type MatcherDeps, settleTrips } from "@trip-pipeline/core/streams/matcher";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { ACCESS } from "../../../../stacks/access.js";
import { captureLogger } from "../../../core/test/support/logs.js";
import { startEmulator, type TestTable } from "../support/test-table.js";

let emulator: Awaited<ReturnType<typeof startEmulator>>;
let dir: string;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "matcher-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const start = (pickup: string, fare = "10"): StartEvent => ({
  event_type: "start",
  trip_id: "t",
  pickup_datetime: pickup,
  estimated_fare_amount: fare,
});
const S0 = start("2024-05-25 10:00:00", "8");
const S1 = start("2024-05-25 10:05:00", "9");
const E: TripEvent = { event_type: "end", trip_id: "t", dropoff_datetime: "2024-05-25 11:00:00", fare_amount: "30" };

function deps(table: TestTable): MatcherDeps & { lines: Record<string, unknown>[] } {
  const { logger, lines } = captureLogger();
  return {
    store: table.store,
    trail: new FailedTrail(new FolderBlobStore(dir)),
    logger,
    now: () => new Date("2024-05-26T00:00:00Z"),
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    lines,
  };
}

async function putRaw(table: TestTable, ...events: TripEvent[]) {
  expect(
    await table.store.writeAll(
      events.map((event) => table.store.rawPut(event, 2_000_000_000)),
      deps(table).retry,
    ),
  ).toEqual([]);
}

async function sortKeys(table: TestTable) {
  return (await table.items()).map((item) => item.sort_key);
}

/** Runs `hook` once, right after the first Query of `table`'s client returns (its result already read). */
function afterFirstQuery(table: TestTable, hook: () => Promise<void>) {
  let done = false;
  table.afterCall = async (command) => {
    if (command !== "QueryCommand" || done) return;
    done = true;
    await hook();
  };
}

describe("concurrent matchers with different views of one trip", () => {
  test("the later creator finds its raw start already deleted, reads again and removes its own, later completion", async () => {
    const a = await emulator.newTable();
    const b = a.twin();
    await putRaw(a, S1, E);
    const depsA = deps(a);
    // A has read {S1, E}; meanwhile an earlier start arrives and B settles the trip from {S0, S1, E}.
    afterFirstQuery(a, async () => {
      await putRaw(b, S0);
      expect((await settleTrips(["t"], deps(b))).counts.completed).toBe(1);
    });

    const resultA = await settleTrips(["t"], depsA);

    expect(resultA.counts).toMatchObject({ failed: 0, deleted: 1 }); // its own stale COMPLETED (raw items: already gone)
    expect(await sortKeys(a)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
    b.destroy();
  });

  test("a stale create after the trip moved on: the creator's delete of its raw start finds nothing, so it reads again and removes it", async () => {
    const a = await emulator.newTable();
    const b = a.twin();
    await putRaw(a, S1, E);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // B reads {S1, E} and stalls; S0 arrives and A settles the trip to COMPLETED#10:00, deleting
    // every raw item; then B creates COMPLETED#10:05 (the key is free) from its stale view.
    let bHasRead!: () => void;
    const read = new Promise<void>((resolve) => (bHasRead = resolve));
    afterFirstQuery(b, async () => {
      bHasRead();
      await gate;
    });
    const depsB = deps(b);
    const bRun = settleTrips(["t"], depsB);
    await read;
    await putRaw(a, S0);
    await settleTrips(["t"], deps(a));
    expect(await sortKeys(a)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
    release();
    expect((await bRun).counts).toMatchObject({ failed: 0, deleted: 1 });

    expect(await a.items()).toEqual([
      expect.objectContaining({ sort_key: "COMPLETED#2024-05-25 10:00:00", estimated_fare: "8", fare_amount: "30" }),
    ]);
    b.destroy();
  });

  test("the same view on both sides: the conditional create lets one write win, the other counts it as done", async () => {
    const a = await emulator.newTable();
    const b = a.twin();
    await putRaw(a, S0, E);
    const depsA = deps(a);
    afterFirstQuery(a, async () => void (await settleTrips(["t"], deps(b))));
    const result = await settleTrips(["t"], depsA);
    expect(result.counts).toMatchObject({ completed: 1, failed: 0 });
    expect(await sortKeys(a)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
    expect(depsA.lines.filter((l) => l.level === "warn")).toEqual([]);
    b.destroy();
  });
});

const end = (dropoff: string, fare: string): TripEvent => ({
  event_type: "end",
  trip_id: "t",
  dropoff_datetime: `2024-05-25 ${dropoff}`,
  fare_amount: fare,
});
const E0 = end("10:30:00", "20");
const E1 = end("11:00:00", "30");

/** Settles the trip after each event, as a matcher on every RAW insert would; returns the table's items. */
async function arriveOneByOne(events: TripEvent[]) {
  const table = await emulator.newTable();
  for (const event of events) {
    await putRaw(table, event);
    expect((await settleTrips(["t"], deps(table))).failedTrips.size).toBe(0);
  }
  return (await table.items()).map(({ expires_at: _, ...item }) => item);
}

describe("the COMPLETED item depends only on the set of events", () => {
  test("S0 S1 E0 E1 and S1 E1 S0 E0 complete the same pair (a late earlier start re-matches to a new key)", async () => {
    const expected = [
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 10:00:00",
        estimated_fare: "8",
        dropoff_datetime: "2024-05-25 10:30:00",
        fare_amount: "20",
      }),
    ];
    expect(await arriveOneByOne([S0, S1, E0, E1])).toEqual(expected);
    expect(await arriveOneByOne([S1, E1, S0, E0])).toEqual(expected);
    expect(await arriveOneByOne([E1, S1, E0, S0])).toEqual(expected);
  });

  test("a late end that is earlier than the chosen one (not before the pickup) replaces it in place, conditionally", async () => {
    const table = await emulator.newTable();
    await putRaw(table, S0, E1);
    await settleTrips(["t"], deps(table));
    const calls: string[] = [];
    table.afterCall = async (command, input) =>
      void calls.push(`${command}${input.ConditionExpression ? " (conditional)" : ""}`);
    await putRaw(table, E0);
    const result = await settleTrips(["t"], deps(table));
    expect(result.counts).toMatchObject({ completed: 1, deleted: 1 });
    expect(calls).toEqual([
      "BatchWriteItemCommand",
      "QueryCommand",
      "PutItemCommand (conditional)",
      "BatchWriteItemCommand",
    ]);
    expect(await table.items()).toEqual([
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 10:00:00",
        dropoff_datetime: "2024-05-25 10:30:00",
        fare_amount: "20",
      }),
    ]);
  });

  test("a replace that lost a race (the item changed since the read) fails its condition; the settle reads again", async () => {
    const a = await emulator.newTable();
    const b = a.twin();
    await putRaw(a, S0, end("12:00:00", "40"));
    await settleTrips(["t"], deps(a));
    await putRaw(a, E1);
    // A has read {COMPLETED(S0, 12:00), E1}; meanwhile E0 arrives and B moves the item to E0.
    afterFirstQuery(a, async () => {
      await putRaw(b, E0);
      await settleTrips(["t"], deps(b));
    });
    const result = await settleTrips(["t"], deps(a));
    expect(result.counts).toMatchObject({ failed: 0 });
    expect(await a.items()).toEqual([
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 10:00:00",
        dropoff_datetime: "2024-05-25 10:30:00",
        fare_amount: "20",
      }),
    ]);
    b.destroy();
  });

  test("the end before the chosen pickup is kept until its TTL, and wins when an earlier start arrives", async () => {
    const early = end("09:50:00", "5");
    const items = await arriveOneByOne([S1, early, E1]);
    expect(items.map((item) => String(item.sort_key).replace(/#[0-9a-f]{16}$/, ""))).toEqual([
      "COMPLETED#2024-05-25 10:05:00",
      "RAW#END#2024-05-25 09:50:00",
    ]);
    const earlier = start("2024-05-25 09:45:00", "7");
    expect(await arriveOneByOne([S1, early, E1, earlier])).toEqual([
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 09:45:00",
        dropoff_datetime: "2024-05-25 09:50:00",
        fare_amount: "5",
      }),
    ]);
    expect(await arriveOneByOne([earlier, E1, S1, early])).toEqual(await arriveOneByOne([S1, early, E1, earlier]));
  });

  test("two events of one instant with other values: the smaller values win, in either order, against raw items and the COMPLETED item alike", async () => {
    const cheap = end("11:00:00", "29.99");
    const twin = start("2024-05-25 10:00:00", "7.5");
    const expected = [
      expect.objectContaining({
        sort_key: "COMPLETED#2024-05-25 10:00:00",
        estimated_fare: "7.5",
        fare_amount: "29.99",
      }),
    ];
    expect(await arriveOneByOne([S0, E1, cheap, twin])).toEqual(expected);
    expect(await arriveOneByOne([twin, cheap, E1, S0])).toEqual(expected);
    expect(await arriveOneByOne([cheap, S0, twin, E1])).toEqual(expected);
  });
});

describe("anomalies", () => {
  test("trailed once; removed when the trip completes; a trip that never was one costs no call to the bucket", async () => {
    const table = await emulator.newTable();
    const calls: string[] = [];
    const folder = new FolderBlobStore(dir);
    const counted: BlobStore = {
      put: (key, body) => {
        calls.push(`put ${key}`);
        return folder.put(key, body);
      },
      get: (key) => folder.get(key),
      getObject: (key) => folder.getObject(key),
      list: (prefix) => folder.list(prefix),
      delete: (key) => {
        calls.push(`delete ${key}`);
        return folder.delete(key);
      },
    };
    const run = async (...events: TripEvent[]) => {
      await putRaw(table, ...events);
      expect((await settleTrips(["t"], { ...deps(table), trail: new FailedTrail(counted) })).failedTrips.size).toBe(0);
    };
    await run(S1, end("10:01:00", "5"));
    await run(end("10:02:00", "6")); // still an anomaly, now with another latest end: rewritten
    await run(end("10:02:00", "6")); // the same anomaly again: nothing written
    const key = "failed/anomalies/anomaly-t.jsonl";
    expect(calls).toEqual([`put ${key}`, `put ${key}`]);
    await run(S0);
    expect(calls).toEqual([`put ${key}`, `put ${key}`, `delete ${key}`]);
    expect(await folder.list("failed/")).toEqual([]);

    calls.length = 0;
    const other = { ...S0, trip_id: "u" };
    await putRaw(table, other, { ...E1, trip_id: "u" });
    await settleTrips(["u"], { ...deps(table), trail: new FailedTrail(counted) });
    expect(calls).toEqual([]);
  });
});

describe("the matcher's calls", () => {
  test("every DynamoDB call the matcher makes is one its deployed role grants", async () => {
    const table = await emulator.newTable();
    await putRaw(table, S1, E);
    const calls = new Set<string>();
    table.afterCall = async (command) => void calls.add(`dynamodb:${command.replace(/Command$/, "")}`);
    await settleTrips(["t"], deps(table));
    await putRaw(table, S0, E0);
    await settleTrips(["t"], deps(table));
    expect([...calls].sort()).toEqual(["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"]);
    expect(ACCESS.matcher.table).toEqual(expect.arrayContaining([...calls]));
  });
});

describe("settleTrips", () => {
  test("two COMPLETED items already there (left by concurrent matchers): the earliest pickup stays", async () => {
    const table = await emulator.newTable();
    for (const s of [S1, S0])
      expect(
        await table.store.createCompleted({
          trip_id: "t",
          pickup_datetime: s.pickup_datetime,
          dropoff_datetime: "2024-05-25 11:00:00",
          estimated_fare_amount: s.estimated_fare_amount,
          fare_amount: "30",
        }),
      ).toBe(true);
    await putRaw(table, S1);
    const result = await settleTrips(["t"], deps(table));
    expect(result.counts).toMatchObject({ replayed: 1, deleted: 2 });
    expect(await sortKeys(table)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
  });

  test("a trip with no items left (expired or already settled) is pending and costs one read", async () => {
    const table = await emulator.newTable();
    const calls: string[] = [];
    table.afterCall = async (command) => void calls.push(command);
    expect((await settleTrips(["gone"], deps(table))).counts).toMatchObject({ pending: 1, deleted: 0 });
    expect(calls).toEqual(["QueryCommand"]);
  });
});
