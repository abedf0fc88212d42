/**
 * Model-based test of the whole write path: the events of many trips (conflicting, duplicated,
 * invalid) in random stream order, consumed by tripBegin/tripFinish in random batches, their
 * RAW inserts delivered to matchers on two stream shards, any of these mappings running at
 * the same time, with random crashes (every call fails from a random point on; the batch is
 * redelivered) and random throttling (partial batch failures; Lambda resumes from the lowest
 * reported record). At the end: exactly one COMPLETED per complete trip, no raw items left for
 * it, raw items kept for pending and anomalous trips, every invalid event in the failed trail.
 */
import type { DynamoDBRecord } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { formatDateTime, parseWireEvent, type EndEvent, type StartEvent } from "@trip-pipeline/core";
import { matchTrip } from "@trip-pipeline/core/trip";
import { startEmulator, type TestTable } from "../../core/test/support/test-table.js";
import { createMatcherHandler } from "../src/matcher.js";
import { createTripEventHandler } from "../src/trip-events.js";
import { context, end, kinesisEvent, nextSequence, start, streamEvent, workspace, type WireRecord } from "./support.js";

let emulator: Awaited<ReturnType<typeof startEmulator>>;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

const BASE = Date.UTC(2024, 4, 25, 10, 0, 0);
const at = (minutes: number) => formatDateTime(new Date(BASE + minutes * 60_000));
const fare = fc.integer({ min: 0, max: 99_999 }).map((cents) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`);

const tripArb = fc.record({
  starts: fc.uniqueArray(fc.record({ minute: fc.integer({ min: 0, max: 30 }), fare }), { maxLength: 2, selector: (s) => s.minute }),
  // Ends up to 10 minutes before the earliest possible pickup make anomalies.
  ends: fc.uniqueArray(fc.record({ minute: fc.integer({ min: -10, max: 60 }), fare }), { maxLength: 2, selector: (e) => e.minute }),
  copies: fc.integer({ min: 1, max: 3 }),
});
const scenarioArb = fc.record({
  trips: fc.array(tripArb, { minLength: 5, maxLength: 25 }),
  invalid: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer(),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Deterministic randomness for the schedule, from the scenario's seed (fast-check reports it). */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (max: number) => Math.floor(next() * max), chance: (p: number) => next() < p };
}

function eventsOf(scenario: Scenario) {
  const events: string[] = [];
  scenario.trips.forEach((trip, i) => {
    for (let copy = 0; copy < trip.copies; copy += 1) {
      for (const s of trip.starts) events.push(start(`trip-${i}`, at(s.minute), s.fare));
      for (const e of trip.ends) events.push(end(`trip-${i}`, at(e.minute), e.fare));
    }
  });
  const invalid = Array.from({ length: scenario.invalid }, (_, k) => (k % 2 === 0 ? start(`bad-${k}`, at(0), "-1") : end(`bad-${k}`, "2024-13-01 00:00:00")));
  return { events: [...events, ...invalid], invalid };
}

/** A stream consumer's position: Lambda redelivers from the checkpoint until the batch succeeds. */
class Cursor<T> {
  private position = 0;
  constructor(readonly records: T[]) {}
  get done() {
    return this.position >= this.records.length;
  }
  peek(size: number): T[] {
    return this.records.slice(this.position, this.position + size);
  }
  /** Checkpoints past the batch, or up to its lowest reported failure. */
  advance(batch: T[], failedIndexes: number[]) {
    this.position += failedIndexes.length === 0 ? batch.length : Math.min(...failedIndexes);
  }
}

function valid<T>(data: string): T {
  const result = parseWireEvent(data);
  if (!result.ok) throw new Error(result.rejection.message);
  return result.value as T;
}

/** One Lambda event source mapping: a shard's records, a checkpoint, its own client (and faults). */
interface Worker<T> {
  table: TestTable;
  cursor: Cursor<T>;
  invoke(records: T[]): Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  idOf(record: T): string;
  tripOf(record: T): string;
}

async function runScenario(scenario: Scenario): Promise<void> {
  const random = prng(scenario.seed);
  const table = await emulator.newTable();
  const ws = await workspace();
  const clients: TestTable[] = [];
  const client = () => {
    const twin = table.twin();
    clients.push(twin);
    return twin;
  };
  try {
    const { events, invalid } = eventsOf(scenario);
    // Stream order is random; each consumer sees its kind (the event filter) in that order.
    const stream: WireRecord[] = events.map((data) => ({ data, seq: "" })).sort(() => random.next() - 0.5);
    stream.forEach((record) => (record.seq = nextSequence()));
    const consumers: Worker<WireRecord>[] = (["start", "end"] as const).map((kind) => {
      const own = client();
      return {
        table: own,
        cursor: new Cursor(stream.filter((r) => JSON.parse(r.data).event_type === kind)),
        invoke: (records) => createTripEventHandler(kind, ws.deps(own))(kinesisEvent(records), context()),
        idOf: (r) => r.seq!,
        tripOf: (r) => String(JSON.parse(r.data).trip_id),
      };
    });
    // Two stream shards: DynamoDB keeps one trip on one shard unless it splits a hot item
    // collection; spreading records at random covers that worst case.
    const matchers: Worker<DynamoDBRecord>[] = [0, 1].map(() => {
      const own = client();
      return {
        table: own,
        cursor: new Cursor<DynamoDBRecord>([]),
        invoke: (records) => createMatcherHandler(ws.deps(own))(streamEvent(records), context()),
        idOf: (r) => r.dynamodb!.SequenceNumber!,
        tripOf: (r) => r.dynamodb!.Keys!.trip_id!.S!,
      };
    });

    /** One invocation with random faults; the checkpoint moves only if the invocation did not crash. */
    async function deliver<T>(worker: Worker<T>, faults: boolean) {
      const batch = worker.cursor.peek(1 + random.int(12));
      if (faults && random.chance(0.2)) worker.table.crashAfterWrites(random.int(4));
      if (faults && random.chance(0.2)) {
        const hot = worker.tripOf(batch[random.int(batch.length)]!);
        worker.table.throttle((item) => item.trip_id === hot);
      }
      const response = await worker.invoke(batch);
      const crashed = worker.table.crashed;
      worker.table.heal();
      if (crashed) return;
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      worker.cursor.advance(batch, batch.flatMap((record, index) => (failed.has(worker.idOf(record)) ? [index] : [])));
    }

    const workers = [...consumers, ...matchers] as Worker<unknown>[];
    for (let step = 0; step < 20_000; step += 1) {
      const busy = workers.filter((w) => !w.cursor.done);
      if (busy.length === 0) break;
      // Any subset of the mappings runs at once, as separate Lambda invocations would.
      const running = busy.filter(() => random.chance(0.5));
      await Promise.all((running.length > 0 ? running : [busy[random.int(busy.length)]!]).map((w) => deliver(w, step < 2_000)));
      for (const consumer of consumers)
        for (const record of consumer.table.takeStream()) matchers[random.int(matchers.length)]!.cursor.records.push(record);
    }
    expect(workers.every((w) => w.cursor.done)).toBe(true);

    const items = await table.items();
    const anomalies = new Set((await ws.failed("anomalies")).map((a) => a.key.split("/").at(-1)));
    scenario.trips.forEach((trip, i) => {
      const tripId = `trip-${i}`;
      const own = items.filter((item) => item.trip_id === tripId);
      const completed = own.filter((item) => String(item.sort_key).startsWith("COMPLETED#"));
      const raw = own.filter((item) => String(item.sort_key).startsWith("RAW#")).map((item) => item.sort_key);
      const starts = trip.starts.map((s) => valid<StartEvent>(start(tripId, at(s.minute), s.fare)));
      const ends = trip.ends.map((e) => valid<EndEvent>(end(tripId, at(e.minute), e.fare)));
      const expected = matchTrip(starts, ends);
      const context = { tripId, expected: expected.kind, own };
      if (expected.kind === "completed") {
        expect(completed, JSON.stringify(context)).toHaveLength(1);
        expect(raw, JSON.stringify(context)).toEqual([]);
        const [done] = completed;
        expect(starts.map((s) => s.pickup_datetime)).toContain(done!.pickup_datetime);
        expect(ends.map((e) => e.dropoff_datetime)).toContain(done!.dropoff_datetime);
        expect(String(done!.dropoff_datetime) >= String(done!.pickup_datetime)).toBe(true);
        if (starts.length === 1 && ends.length === 1)
          expect(done, JSON.stringify(context)).toMatchObject({ estimated_fare: String(Number(starts[0]!.estimated_fare_amount)), fare_amount: String(Number(ends[0]!.fare_amount)) });
      } else {
        expect(completed, JSON.stringify(context)).toEqual([]);
        expect(raw.sort(), JSON.stringify(context)).toEqual([...starts.map((s) => `RAW#START#${s.pickup_datetime}`), ...ends.map((e) => `RAW#END#${e.dropoff_datetime}`)].sort());
        expect(anomalies.has(`anomaly-${tripId}.jsonl`)).toBe(expected.kind === "anomaly");
      }
    });
    expect(items.filter((item) => String(item.trip_id).startsWith("bad-"))).toEqual([]);
    const trailed = new Set([...(await ws.failed("start")), ...(await ws.failed("end"))].map((f) => f.record.raw));
    for (const event of invalid) expect(trailed.has(event)).toBe(true);
  } finally {
    for (const twin of clients) twin.destroy();
    await ws.cleanup();
  }
}

test("random interleavings, duplicates, batches, crashes and throttling end in exactly one COMPLETED per complete trip", async () => {
  await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: 60 });
}, 300_000);
