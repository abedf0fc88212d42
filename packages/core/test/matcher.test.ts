import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { FolderBlobStore } from "../src/blob-store.js";
import type { StartEvent, TripEvent } from "../src/events.js";
import { FailedTrail } from "../src/failed-trail.js";
import { readRawInsert, settleTrips, type MatcherDeps } from "../src/matcher.js";
import { captureLogger } from "./support/logs.js";
import { insertRecord, startEmulator, type TestTable } from "./support/test-table.js";

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

const start = (pickup: string, fare = "10"): StartEvent => ({ event_type: "start", trip_id: "t", pickup_datetime: pickup, estimated_fare_amount: fare });
const S0 = start("2024-05-25 10:00:00", "8");
const S1 = start("2024-05-25 10:05:00", "9");
const E: TripEvent = { event_type: "end", trip_id: "t", dropoff_datetime: "2024-05-25 11:00:00", fare_amount: "30" };

function deps(table: TestTable): MatcherDeps & { lines: Record<string, unknown>[] } {
  const { logger, lines } = captureLogger();
  return { store: table.store, trail: new FailedTrail(new FolderBlobStore(dir)), logger, now: () => new Date("2024-05-26T00:00:00Z"), retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, lines };
}

async function putRaw(table: TestTable, ...events: TripEvent[]) {
  expect(await table.store.writeAll(events.map((event) => table.store.rawPut(event, 2_000_000_000)), deps(table).retry)).toEqual([]);
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
  test("the later creator's re-read removes its own, later completion", async () => {
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

    expect(resultA.failedTrips.size).toBe(0);
    expect(await sortKeys(a)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
    expect(depsA.lines.find((l) => String(l.msg).startsWith("duplicate completions removed"))).toMatchObject({ kept: "2024-05-25 10:00:00", removed: ["2024-05-25 10:05:00"] });
    b.destroy();
  });

  test("the earlier creator finished first: the later creator's re-read removes the other completion", async () => {
    const a = await emulator.newTable();
    const b = a.twin();
    await putRaw(a, S1, E);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let bRun: Promise<unknown> | undefined;
    // Order: A reads {S1,E}; S0 arrives; B reads {S0,S1,E} and stalls; A creates, re-reads and
    // deletes the raw items; then B creates COMPLETED#10:00 and re-reads.
    afterFirstQuery(a, async () => {
      await putRaw(b, S0);
      let readB!: () => void;
      const bHasRead = new Promise<void>((resolve) => (readB = resolve));
      afterFirstQuery(b, async () => {
        readB();
        await gate;
      });
      bRun = settleTrips(["t"], deps(b));
      await bHasRead;
    });

    await settleTrips(["t"], deps(a));
    expect(await sortKeys(a)).toEqual(["COMPLETED#2024-05-25 10:05:00"]);
    release();
    await bRun;

    expect(await a.items()).toEqual([expect.objectContaining({ sort_key: "COMPLETED#2024-05-25 10:00:00", estimated_fare: "8", fare_amount: "30" })]);
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

describe("settleTrips", () => {
  test("two COMPLETED items already there (left by concurrent matchers): the earliest pickup stays", async () => {
    const table = await emulator.newTable();
    for (const s of [S1, S0]) expect(await table.store.createCompleted({ trip_id: "t", pickup_datetime: s.pickup_datetime, dropoff_datetime: "2024-05-25 11:00:00", estimated_fare_amount: s.estimated_fare_amount, fare_amount: "30" })).toBe(true);
    await putRaw(table, S1);
    const result = await settleTrips(["t"], deps(table));
    expect(result.counts).toMatchObject({ replayed: 1, deleted: 2 });
    expect(await sortKeys(table)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);
  });

  test("an anomaly settled again (a retry, a re-delivery) is trailed and warned about once", async () => {
    const table = await emulator.newTable();
    await putRaw(table, S0, { ...E, dropoff_datetime: "2024-05-25 09:00:00" } as TripEvent);
    const first = deps(table);
    expect((await settleTrips(["t"], first)).counts.anomaly).toBe(1);
    const later = { ...deps(table), now: () => new Date("2024-05-26T00:05:00Z") };
    expect((await settleTrips(["t"], later)).counts.anomaly).toBe(1);
    const warnings = [...first.lines, ...later.lines].filter((line) => line.msg === "anomaly trailed; raw items kept");
    expect(warnings).toHaveLength(1);
    const trailed = [];
    for await (const entry of first.trail.read("anomalies")) trailed.push(entry);
    expect(trailed).toHaveLength(2);
    expect(await sortKeys(table)).toEqual(["RAW#END#2024-05-25 09:00:00", "RAW#START#2024-05-25 10:00:00"]);
  });

  test("a trip with no items left (expired or already settled) is pending and costs one read", async () => {
    const table = await emulator.newTable();
    const calls: string[] = [];
    table.afterCall = async (command) => void calls.push(command);
    expect((await settleTrips(["gone"], deps(table))).counts).toMatchObject({ pending: 1, deleted: 0 });
    expect(calls).toEqual(["QueryCommand"]);
  });
});

describe("readRawInsert", () => {
  const record = insertRecord("TripData", { trip_id: "t9", sort_key: "RAW#END#2024-05-25 11:00:00", fare_amount: 3 });

  test("reads the trip and sequence number of a RAW insert", () => {
    expect(readRawInsert(record)).toEqual({ ok: true, tripId: "t9", sequenceNumber: record.dynamodb!.SequenceNumber });
  });

  test("names what is wrong with anything else", () => {
    expect(readRawInsert({ ...record, eventName: "MODIFY" })).toMatchObject({ ok: false, reason: expect.stringContaining("eventName") });
    expect(readRawInsert({ ...record, dynamodb: { ...record.dynamodb, Keys: { trip_id: { S: "t9" }, sort_key: { S: "COMPLETED#x" } } } })).toMatchObject({ ok: false, reason: expect.stringContaining("sort_key") });
    expect(readRawInsert({ eventName: "INSERT" })).toMatchObject({ ok: false, reason: expect.stringContaining("dynamodb") });
  });
});
