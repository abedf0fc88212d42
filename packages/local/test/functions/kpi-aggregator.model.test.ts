/**
 * Model-based test of the live KPIs (a sibling of model.test.ts, which covers the matcher):
 * random COMPLETED histories as the re-matching matcher writes them (completions, re-matches
 * to another pickup and maybe another day: INSERT new then REMOVE old, in-place replacements:
 * MODIFY, duplicates created and deleted), interleaved at random with kpiAggregator deliveries
 * on two stream shards running at once, in random batch sizes, with crashes at any call (the
 * invocation dies: Lambda retries the batch or bisects it), partial failures (Lambda resumes
 * from the reported record) and duplicate deliveries (a checkpoint older than the progress:
 * records seen again), batches Lambda gives up on (to the on-failure destination, the shard
 * moving on; replayed by a redrive at the end, maybe twice, maybe in another order), re-deliveries
 * in another order (AWS: records processed more than once may come out of order) and shard
 * rollovers (a shard's records continue under a new shard id every few records), on an
 * embedded DynamoDB whose index lags its table and whose Queries are torn, with DynamoDB's TTL
 * (its clock moved past the live items' expiry at random points). After draining: the live KPIs
 * of every day equal an oracle over the final table and the nightly job's rows, except the days
 * TTL retired, which say so.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { CompletedTrip } from "@trip-pipeline/core/domain/trip";
import { computeDailyKpis, type DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { LIVE_FIELDS } from "@trip-pipeline/core/kpi/registry";
import { asLiveRow } from "@trip-pipeline/core/live/drift";
import { liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { createTripService } from "@trip-pipeline/core/store/entities";
import { createKpiAggregatorHandler } from "@trip-pipeline/functions/kpi-aggregator";
import type { DynamoDBRecord } from "aws-lambda";
import fc from "fast-check";
import { expect, test } from "vitest";
import { runLocalKpiJob } from "../../src/kpi-job.js";
import { kpiWorld } from "./kpi-support.js";
import { context } from "./support.js";

const PICKUPS = ["2024-02-28 23:59:59", "2024-02-29 00:00:00", "2024-02-29 12:00:00", "2024-03-01 08:00:00"];
const FARES = ["0", "0.01", "5", "5.005", "20", "99.99", "1000"];

const opArb = fc.oneof(
  fc.record({ kind: fc.constant("complete" as const), trip: fc.nat(7), pickup: fc.nat(3), fare: fc.nat(6) }),
  fc.record({ kind: fc.constant("rematch" as const), trip: fc.nat(7), pickup: fc.nat(3), fare: fc.nat(6) }),
  fc.record({ kind: fc.constant("replace" as const), trip: fc.nat(7), fare: fc.nat(6) }),
  fc.record({ kind: fc.constant("duplicate" as const), trip: fc.nat(7), pickup: fc.nat(3), fare: fc.nat(6) }),
  fc.record({ kind: fc.constant("expire" as const) }),
  fc.record({
    kind: fc.constant("deliver" as const),
    shards: fc.constantFrom([0], [1], [0, 1]),
    size: fc.integer({ min: 1, max: 12 }),
    fault: fc.constantFrom("none", "none", "crash", "fail-day", "replay", "discard"),
  }),
);
const scenarioArb = fc.record({
  ops: fc.array(opArb, { minLength: 5, maxLength: 40 }),
  seed: fc.integer(),
  /** Records per shard id before the shard rolls over to a child (0: never). */
  rollover: fc.constantFrom(0, 0, 3, 7),
  /** Re-deliveries come shuffled. */
  reorder: fc.boolean(),
  /** The per-day index sees writes this late. */
  gsiLagMs: fc.constantFrom(0, 0, 15),
  /** TTL runs (and "expire" ops move its clock past every live item's expiry). */
  ttl: fc.boolean(),
});

function prng(seed: number) {
  let state = seed >>> 0;
  return (max: number) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % max;
  };
}

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

const DAY_MS = 86_400_000;

async function runScenario({ ops, seed, rollover, reorder, gsiLagMs, ttl }: Scenario): Promise<void> {
  const random = prng(seed);
  const world = await kpiWorld(2, { gsiLagMs, tornReads: { seed }, ...(ttl && { ttl: { sweepMs: 60_000 } }) });
  const dir = await mkdtemp(join(tmpdir(), "kpi-model-"));
  try {
    const completed = createTripService(world.store.db, world.tableName).entities.completed;
    /** The table's COMPLETED items as the model knows them (the matcher's writes). */
    const current = new Map<string, CompletedTrip>(); // trip id -> the item that stays
    const put = (t: CompletedTrip) => {
      const { estimated_fare_amount, ...rest } = t;
      return world.store.db.send(
        new PutCommand(
          completed.put({ ...rest, estimated_fare: estimated_fare_amount }).params() as ConstructorParameters<
            typeof PutCommand
          >[0],
        ),
      );
    };
    const remove = (t: CompletedTrip) =>
      world.store.db.send(
        new DeleteCommand({
          TableName: world.tableName,
          Key: { trip_id: t.trip_id, sort_key: `COMPLETED#${t.pickup_datetime}` },
        }),
      );
    // Tips and distances ride along (the live sums keep every live summed column), some trips without them.
    const trip = (id: number, pickup: number, fare: number): CompletedTrip => ({
      trip_id: `trip-${id}`,
      pickup_datetime: PICKUPS[pickup]!,
      dropoff_datetime: "2024-03-02 00:00:00",
      estimated_fare_amount: "1",
      fare_amount: FARES[fare]!,
      ...(id % 2 === 0 && { tip_amount: FARES[(fare + 1) % FARES.length]!, trip_distance: FARES[fare]! }),
    });

    // One mapping per stream shard: its records, a checkpoint, its shard id.
    const shards = world
      .takeChanges()
      .map(({ shardId }) => ({ shardId, records: [] as DynamoDBRecord[], position: 0 }));
    const collect = () =>
      world.takeChanges().forEach(({ records }, i) => {
        shards[i]!.records.push(...records);
      });
    // The aggregator's clock is the TTL's: what it writes after a jump expires 35 days after that.
    let clockOffsetMs = 0;
    const handler = createKpiAggregatorHandler({
      ...world.deps,
      now: () => new Date(Date.now() + clockOffsetMs),
      indexWaitsMs: gsiLagMs > 0 ? [gsiLagMs, 2 * gsiLagMs] : [],
    });
    /** Days whose live items TTL deleted: they must end retired (served by the nightly rows). */
    const retired = new Set<string>();
    /** Batches given up on, as the on-failure destination holds them: records and shard id. */
    const discarded: { records: DynamoDBRecord[]; shardId: string }[] = [];
    // After a rollover the shard's records continue under a child's id: a batch never spans two.
    const shardIdAt = (index: number, position: number) =>
      rollover === 0 ? shards[index]!.shardId : `${shards[index]!.shardId}-child${Math.floor(position / rollover)}`;
    const segmentEnd = (position: number) =>
      rollover === 0 ? Infinity : (Math.floor(position / rollover) + 1) * rollover;
    const shuffled = <T>(items: readonly T[]) => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i -= 1) {
        const j = random(i + 1);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    };
    const sequence = (record: DynamoDBRecord) => BigInt(record.dynamodb!.SequenceNumber!);

    async function deliver(index: number, size: number, fault: string, faults: boolean): Promise<void> {
      const shard = shards[index]!;
      if (faults && fault === "replay") shard.position = random(shard.position + 1); // an older checkpoint: records seen again
      let batch = shard.records.slice(shard.position, Math.min(shard.position + size, segmentEnd(shard.position)));
      if (batch.length === 0) return;
      const shardId = shardIdAt(index, shard.position);
      if (faults && fault === "discard") {
        // Retries exhausted (the function was down): the batch goes to the destination, the shard moves on.
        discarded.push({ records: batch, shardId });
        shard.position += batch.length;
        return;
      }
      // A crash and then Lambda's bisection: the invocation dies, the first half is retried alone.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const delivered = reorder && attempt > 0 ? shuffled(batch) : batch;
        if (faults && fault === "crash" && attempt === 0) world.faults.writesLeft = random(4);
        if (faults && fault === "fail-day" && attempt === 0) {
          const day = `KPI#${String(batch[random(batch.length)]!.dynamodb!.Keys!.sort_key!.S).slice(10, 20)}`;
          world.faults.failing = (input) => JSON.stringify(input.Key ?? {}).includes(day);
        }
        let response: Awaited<ReturnType<typeof handler>> | undefined;
        try {
          response = await handler({ Records: delivered, shardId }, context());
        } catch {
          response = undefined;
        }
        const crashed = world.faults.crashed || response === undefined;
        world.faults.heal();
        if (crashed) {
          batch = batch.slice(0, Math.ceil(batch.length / 2));
          continue;
        }
        const failed = response!.batchItemFailures.map((f) =>
          batch.findIndex((r) => r.dynamodb!.SequenceNumber === f.itemIdentifier),
        );
        expect(failed.every((i) => i >= 0)).toBe(true);
        // Lambda checkpoints below the lowest reported sequence number (the batch is in shard order).
        shard.position += failed.length === 0 ? batch.length : Math.min(...failed);
        return;
      }
    }

    for (const [step, op] of ops.entries()) {
      const old = op.kind === "deliver" || op.kind === "expire" ? undefined : current.get(`trip-${op.trip}`);
      switch (op.kind) {
        case "complete":
          if (!old) {
            current.set(`trip-${op.trip}`, trip(op.trip, op.pickup, op.fare));
            await put(current.get(`trip-${op.trip}`)!);
          }
          break;
        case "rematch": // the new key first, then the old one deleted (every reader counts one meanwhile)
          if (old && PICKUPS[op.pickup] !== old.pickup_datetime) {
            const next = trip(op.trip, op.pickup, op.fare);
            await put(next);
            await remove(old);
            current.set(next.trip_id, next);
          }
          break;
        case "replace": // same pickup, another end: in place
          if (old) {
            current.set(old.trip_id, { ...old, fare_amount: FARES[op.fare]! });
            await put(current.get(old.trip_id)!);
          }
          break;
        case "duplicate": // a concurrent matcher's loser: created, then deleted
          if (old && PICKUPS[op.pickup] !== old.pickup_datetime) {
            const loser = trip(op.trip, op.pickup, op.fare);
            await put(loser);
            collect();
            await remove(loser);
          }
          break;
        case "expire":
          if (ttl) {
            const days = (await world.store.db.send(new ScanCommand({ TableName: world.tableName })))
              .Items!.filter((item) => item.sort_key === "EXTREMES")
              .map((item) => String(item.trip_id).slice(4));
            clockOffsetMs += 36 * DAY_MS;
            await world.dynamodb.advanceTtlClock(36 * DAY_MS);
            for (const day of days) retired.add(day);
          }
          break;
        case "deliver":
          collect();
          await Promise.all(op.shards.map((index) => deliver(index, op.size, op.fault, step < ops.length)));
      }
    }
    collect();
    // Drain without faults.
    for (let round = 0; shards.some((s) => s.position < s.records.length); round += 1) {
      expect(round).toBeLessThan(10_000);
      await Promise.all(shards.map((_, index) => deliver(index, 1 + random(20), "none", false)));
    }
    // pnpm redrive, after everything else: every discarded batch, in any order, some twice; a
    // replay that reports a failure keeps the records from the lowest reported one on, as redrive does.
    let store = shuffled([...discarded, ...discarded.filter(() => random(3) === 0)]);
    for (let pass = 0; store.length > 0; pass += 1) {
      expect(pass).toBeLessThan(20);
      const kept: typeof store = [];
      for (const batch of store) {
        const records = reorder ? shuffled(batch.records) : batch.records;
        const reply = await handler({ Records: records, shardId: batch.shardId }, context());
        const lowest = reply.batchItemFailures.reduce<bigint | undefined>(
          (min, f) => (min === undefined || BigInt(f.itemIdentifier) < min ? BigInt(f.itemIdentifier) : min),
          undefined,
        );
        if (lowest !== undefined)
          kept.push({ ...batch, records: records.filter((record) => sequence(record) >= lowest) });
      }
      store = kept;
    }

    // The nightly job reads the index: in AWS hours after the last write, so it has caught up.
    await new Promise((resolve) => setTimeout(resolve, gsiLagMs));
    const oracle = computeDailyKpis([...current.values()]);
    const nightly = await runLocalKpiJob(world.store.db, world.tableName, new FolderBlobStore(dir));
    const live = [];
    for (const day of new Set(PICKUPS.map((p) => p.slice(0, 10)))) {
      const kpi = await liveKpis(world.store.db, world.tableName, day, new Date());
      if (retired.has(day)) expect(kpi, day).toEqual({ pickup_date: day, expired: true });
      else if (kpi && "expired" in kpi) throw new Error(`${day} retired though TTL never deleted its items`);
      else if (kpi) live.push(asLiveRow(kpi));
    }
    // The live row holds the registry's live fields (the nightly-only ones have no key in it).
    const liveFields = (row: DailyKpi) =>
      Object.fromEntries([
        ["pickup_date", row.pickup_date],
        ...LIVE_FIELDS.map((field) => [field.name, row[field.name]]),
      ]);
    expect(live).toEqual(
      oracle.filter((row) => !retired.has(row.pickup_date)).map((row) => ({ ...liveFields(row), settling: false })),
    );
    expect(nightly.kpis).toEqual(oracle);
  } finally {
    await world.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("live KPIs after random histories, interleavings, crashes, partial failures, give-ups and redrives, reordering and rollovers equal the oracle and the nightly job", async () => {
  // Found by the property: an insert and its in-place replacement in one batch, the old value the minimum.
  const insertThenReplace: Scenario["ops"] = [
    { kind: "complete", trip: 5, pickup: 0, fare: 0 },
    { kind: "complete", trip: 0, pickup: 0, fare: 1 },
    { kind: "deliver", shards: [0], size: 1, fault: "none" },
    { kind: "replace", trip: 5, fare: 1 },
  ];
  await runScenario({ ops: insertThenReplace, seed: 0, rollover: 0, reorder: false, gsiLagMs: 0, ttl: false });
  // Found by the property: short-lived shards, a day's values replaced back and forth.
  await runScenario({
    ops: [
      { kind: "complete", trip: 0, pickup: 0, fare: 0 },
      { kind: "replace", trip: 0, fare: 1 },
      { kind: "complete", trip: 5, pickup: 0, fare: 0 },
      { kind: "rematch", trip: 5, pickup: 1, fare: 0 },
      { kind: "replace", trip: 0, fare: 0 },
      { kind: "complete", trip: 3, pickup: 0, fare: 0 },
      { kind: "replace", trip: 0, fare: 1 },
    ],
    seed: 0,
    rollover: 3,
    reorder: false,
    gsiLagMs: 0,
    ttl: false,
  });
  await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: Number(process.env.MODEL_RUNS ?? 200) });
}, 600_000);
