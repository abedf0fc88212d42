import { DeleteCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { CompletedTrip } from "@trip-pipeline/core/domain/trip";
import { computeDailyKpis } from "@trip-pipeline/core/kpi/daily-kpis";
import { LIVE_FIELDS } from "@trip-pipeline/core/kpi/registry";
import { type LiveKpi, liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { createTripService, KPI_PREFIX } from "@trip-pipeline/core/store/entities";
import { createKpiAggregatorHandler } from "@trip-pipeline/functions/kpi-aggregator";
import type { DynamoDBRecord } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type KpiWorld, kpiWorld, completedTrip as trip } from "./kpi-support.js";
import { context } from "./support.js";

let world: KpiWorld;
beforeEach(async () => {
  world = await kpiWorld(1);
});
afterEach(() => world.close());

const NOW = new Date("2024-05-26T08:00:00Z");
/** The matcher updating a completion in place (same pickup, another end): a MODIFY. */
const replace = (t: CompletedTrip) => {
  const { estimated_fare_amount, ...rest } = t;
  const params = createTripService(world.store.db, world.tableName)
    .entities.completed.put({ ...rest, estimated_fare: estimated_fare_amount })
    .params();
  return world.store.db.send(new PutCommand(params as ConstructorParameters<typeof PutCommand>[0]));
};

const SHARD = "shardId-00000001716595200000-0a1b2c3d";
function aggregator() {
  const handler = createKpiAggregatorHandler({ ...world.deps, now: () => NOW });
  return (records: DynamoDBRecord[], shardId = SHARD) =>
    handler({ Records: records, shardId, isFinalInvokeForWindow: false }, context());
}
const changes = () => world.takeChanges().flatMap((shard) => shard.records);
const live = (date: string) => liveKpis(world.store.db, world.tableName, date, NOW);
const kpiItems = async () =>
  (await world.store.db.send(new ScanCommand({ TableName: world.tableName }))).Items!.filter((item) =>
    String(item.trip_id).startsWith(KPI_PREFIX),
  );

describe("kpiAggregator", () => {
  test("counts COMPLETED inserts per pickup day exactly: one conditional write per day and batch, plus the extremes", async () => {
    await world.complete(trip("a", "2024-05-25 10:00:00", "10.005"));
    await world.complete(trip("b", "2024-05-25 23:59:59", "0.1"));
    await world.complete(trip("c", "2024-05-26 00:00:00", "7"));
    // Raw items and other keys never reach the aggregator (the deployed filter).
    const records = changes();
    expect(records.map((r) => r.eventName)).toEqual(["INSERT", "INSERT", "INSERT"]);

    const response = await aggregator()(records);
    expect(response).toEqual({ batchItemFailures: [], state: {} });
    expect(await live("2024-05-25")).toMatchObject({
      pickup_date: "2024-05-25",
      total_fare: "10.11",
      trip_count: 2,
      average_fare: "5.05",
      max_fare: "10.01",
      min_fare: "0.10",
    });
    expect(await live("2024-05-26")).toMatchObject({
      total_fare: "7.00",
      trip_count: 1,
      max_fare: "7.00",
      min_fare: "7.00",
    });
    expect(world.faults.writes).toBe(4); // (sums + extremes) x 2 days
    // Only EXTREMES carries the day's expiry, counted from the write (never from the pickup day: old days would be born expired).
    const items = await kpiItems();
    expect(
      items
        .filter((item) => item.expires_at !== undefined)
        .map((item) => [item.sort_key, Number(String(item.expires_at))]),
    ).toEqual([
      ["EXTREMES", NOW.getTime() / 1000 + 35 * 86_400],
      ["EXTREMES", NOW.getTime() / 1000 + 35 * 86_400],
    ]);
  });

  test("a redelivered batch, or any part of it, changes nothing", async () => {
    for (let i = 0; i < 6; i += 1) await world.complete(trip(`t${i}`, "2024-05-25 10:00:00", `${i + 1}`));
    const records = changes();
    const aggregate = aggregator();
    await aggregate(records.slice(0, 4));
    const writes = world.faults.writes;
    await aggregate(records.slice(0, 4));
    await aggregate(records.slice(1, 3));
    expect(world.faults.writes).toBe(writes);
    await aggregate(records.slice(2)); // overlaps: only t4 and t5 are new
    expect(await live("2024-05-25")).toMatchObject({
      total_fare: "21.00",
      trip_count: 6,
      max_fare: "6.00",
      min_fare: "1.00",
    });
  });

  test("a day whose write fails is reported from its lowest change; days written meanwhile are not counted twice on the retry", async () => {
    await world.complete(trip("a1", "2024-05-25 10:00:00", "1"));
    await world.complete(trip("b1", "2024-05-26 10:00:00", "10"));
    await world.complete(trip("a2", "2024-05-25 11:00:00", "2"));
    await world.complete(trip("b2", "2024-05-26 11:00:00", "20"));
    const records = changes();
    const aggregate = aggregator();
    // Day 2024-05-25 (a1, a2) cannot be written; 2024-05-26 (b1, b2, both after a1) can.
    world.faults.failing = (input) => JSON.stringify(input.Key ?? {}).includes("KPI#2024-05-25");
    const failed = await aggregate(records);
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber }]);
    expect(await live("2024-05-25")).toBeNull();
    expect(await live("2024-05-26")).toMatchObject({ total_fare: "30.00", trip_count: 2 });

    // Lambda re-delivers from a1: b1 and b2 again, already applied.
    world.faults.heal();
    expect(await aggregate(records)).toEqual({ batchItemFailures: [], state: {} });
    expect(await live("2024-05-25")).toMatchObject({
      total_fare: "3.00",
      trip_count: 2,
      max_fare: "2.00",
      min_fare: "1.00",
    });
    expect(await live("2024-05-26")).toMatchObject({
      total_fare: "30.00",
      trip_count: 2,
      max_fare: "20.00",
      min_fare: "10.00",
    });
  });

  test("a crash between any two writes, then bisected halves: nothing lost, nothing twice", async () => {
    const fares = ["5", "1", "9", "3", "7", "2"];
    for (const [i, fare] of fares.entries())
      await world.complete(trip(`t${i}`, `2024-05-2${5 + (i % 2)} 10:00:00`, fare));
    const records = changes();
    for (let budget = 0; budget < 4; budget += 1) {
      const fresh = await kpiWorld(1);
      try {
        for (const [i, fare] of fares.entries())
          await fresh.store.createCompleted(trip(`t${i}`, `2024-05-2${5 + (i % 2)} 10:00:00`, fare));
        const batch = fresh.takeChanges().flatMap((shard) => shard.records);
        const handler = createKpiAggregatorHandler(fresh.deps);
        const invoke = (recs: DynamoDBRecord[]) => handler({ Records: recs, shardId: SHARD }, context());
        fresh.faults.writesLeft = budget;
        await expect(invoke(batch)).resolves.toBeDefined(); // the crash fails the days, not the invocation
        fresh.faults.heal();
        // Lambda's bisection after an error: the first half, then the second.
        const half = Math.ceil(batch.length / 2);
        await invoke(batch.slice(0, half));
        await invoke(batch.slice(half));
        const at = (date: string) => liveKpis(fresh.store.db, fresh.tableName, date, NOW);
        expect(await at("2024-05-25")).toMatchObject({
          total_fare: "21.00",
          trip_count: 3,
          max_fare: "9.00",
          min_fare: "5.00",
        });
        expect(await at("2024-05-26")).toMatchObject({
          total_fare: "6.00",
          trip_count: 3,
          max_fare: "3.00",
          min_fare: "1.00",
        });
      } finally {
        await fresh.close();
      }
    }
    expect(records).toHaveLength(6);
  });

  test("removals and in-place updates: sums follow, max and min are recomputed when the extreme trip leaves", async () => {
    const aggregate = aggregator();
    const trips = [
      trip("low", "2024-05-25 01:00:00", "0.5"),
      trip("mid", "2024-05-25 02:00:00", "5"),
      trip("high", "2024-05-25 03:00:00", "50"),
    ];
    for (const t of trips) await world.complete(t);
    await aggregate(changes());
    // A re-match moves "high" to an earlier pickup on the same day (INSERT new, REMOVE old) with another fare...
    const rematched = trip("high", "2024-05-25 00:30:00", "20");
    await world.complete(rematched);
    await world.remove(trips[2]!);
    // ...and "low" is updated in place with a higher fare (MODIFY).
    await replace({ ...trips[0]!, fare_amount: "4" });
    const records = changes();
    expect(records.map((r) => r.eventName)).toEqual(["INSERT", "REMOVE", "MODIFY"]);
    await aggregate(records);
    expect(await live("2024-05-25")).toMatchObject({
      total_fare: "29.00",
      trip_count: 3,
      max_fare: "20.00",
      min_fare: "4.00",
    });
    // Every completion of the day deleted: no KPIs.
    for (const t of [rematched, trips[1]!, trips[0]!]) await world.remove(t);
    await aggregate(changes());
    expect(await live("2024-05-25")).toBeNull();
  });

  test("sums DynamoDB cannot hold as a number stay exact as text", async () => {
    await world.complete(trip("big", "2024-05-25 10:00:00", "12345678901234567890123456789012345678"));
    await world.complete(trip("tiny", "2024-05-25 11:00:00", "0.001"));
    await aggregator()(changes());
    expect(await live("2024-05-25")).toMatchObject({
      total_fare: "12345678901234567890123456789012345678.00",
      trip_count: 2,
      min_fare: "0.00",
    });
    const [part] = (await kpiItems()).filter((item) => String(item.sort_key).startsWith("SHARD#"));
    expect(part!.sums).toMatchObject({ fare_amount: "12345678901234567890123456789012345678.001" });
  });

  // A live field of the registry the aggregator does not keep fails here: each one against the nightly computation.
  test("every live field of the registry equals the nightly job's, through inserts, removals and in-place updates", async () => {
    const aggregate = aggregator();
    const full = (
      id: string,
      pickup: string,
      dropoff: string,
      fare: string,
      tip?: string,
      distance?: string,
    ): CompletedTrip => ({
      ...trip(id, pickup, fare),
      dropoff_datetime: dropoff,
      ...(tip !== undefined && { tip_amount: tip }),
      ...(distance !== undefined && { trip_distance: distance }),
    });
    const trips = [
      full("a", "2024-05-25 01:00:00", "2024-05-25 01:01:01", "10.005", "1.005", "2.335"),
      full("b", "2024-05-25 02:00:00", "2024-05-25 02:01:02", "3", undefined, "0.1"),
      full("c", "2024-05-25 03:00:00", "2024-05-25 03:30:00", "50", "7.25"),
    ];
    for (const t of trips) await world.complete(t);
    await aggregate(changes());
    // "c" leaves the day, "a" is re-ended in place with another tip and dropoff, "d" arrives.
    await world.remove(trips[2]!);
    const a = { ...trips[0]!, dropoff_datetime: "2024-05-25 01:20:00", tip_amount: "2.5" };
    await replace(a);
    const d = full("d", "2024-05-25 04:00:00", "2024-05-25 04:00:59", "0.5", "0.005");
    await world.complete(d);
    await aggregate(changes());
    const [nightly] = computeDailyKpis([a, trips[1]!, d]);
    const row = (await live("2024-05-25")) as LiveKpi;
    for (const field of LIVE_FIELDS) expect(row[field.name], field.name).toBe(nightly![field.name]);
    expect(row).toMatchObject({
      total_tip: "2.51",
      total_distance: "2.44",
      average_duration_minutes: "7.34",
      settling: false,
    });
  });

  test("window bookkeeping: an empty closing invocation answers with a state; an event without a shard id fails loudly", async () => {
    const aggregate = aggregator();
    expect(await aggregate([])).toEqual({ batchItemFailures: [], state: {} });
    await world.complete(trip("a", "2024-05-25 10:00:00", "1"));
    await expect(aggregate(changes(), "")).rejects.toThrow(/tumbling window/);
  });

  test("a batch Lambda gave up on, replayed after later batches of its day and shard were applied, is counted once", async () => {
    for (const [i, fare] of ["10", "20"].entries())
      await world.complete(trip(`lost${i}`, `2024-05-25 0${i}:00:00`, fare));
    const lost = changes(); // discarded to the on-failure destination: never applied
    await world.complete(trip("later", "2024-05-25 05:00:00", "30"));
    const aggregate = aggregator();
    await aggregate(changes());
    expect(await live("2024-05-25")).toMatchObject({ trip_count: 1, total_fare: "30.00" });
    // pnpm redrive, days later: the batch as Lambda recorded it, then once more (a second redrive run).
    expect(await aggregate(lost)).toEqual({ batchItemFailures: [], state: {} });
    await aggregate([...lost].reverse());
    expect(await live("2024-05-25")).toMatchObject({
      trip_count: 3,
      total_fare: "60.00",
      max_fare: "30.00",
      min_fare: "10.00",
      settling: false,
    });
  });

  test("redelivery in another order after a partial failure: each change once", async () => {
    for (let i = 0; i < 8; i += 1)
      await world.complete(trip(`t${i}`, `2024-05-2${5 + (i % 2)} 10:00:0${i}`, `${i + 1}`));
    const records = changes();
    const shuffled = [
      records[5]!,
      records[2]!,
      records[7]!,
      records[0]!,
      records[3]!,
      records[6]!,
      records[1]!,
      records[4]!,
    ];
    world.faults.failing = (input) => JSON.stringify(input.Key ?? {}).includes("KPI#2024-05-26");
    const aggregate = aggregator();
    const failed = await aggregate(shuffled);
    // The lowest sequence number of the failed day: Lambda re-delivers it and everything after it.
    const lowest26 = records[1]!.dynamodb!.SequenceNumber!;
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: lowest26 }]);
    world.faults.heal();
    const again = records.filter((record) => BigInt(record.dynamodb!.SequenceNumber!) >= BigInt(lowest26)).reverse();
    expect(await aggregate(again)).toEqual({ batchItemFailures: [], state: {} });
    expect(await live("2024-05-25")).toMatchObject({ trip_count: 4, total_fare: "16.00" });
    expect(await live("2024-05-26")).toMatchObject({ trip_count: 4, total_fare: "20.00" });
  });

  test("an insert applied after the trip's removal (a late replay) does not raise the max: extremes follow the table", async () => {
    const big = trip("t", "2024-05-25 10:00:00", "90");
    await world.complete(big);
    const insert = changes();
    await world.complete(trip("u", "2024-05-25 11:00:00", "5"));
    await world.remove(big);
    const aggregate = aggregator();
    await aggregate(changes()); // the removal of t before its insert: briefly a negative contribution
    await aggregate(insert);
    expect(await live("2024-05-25")).toMatchObject({
      trip_count: 1,
      total_fare: "5.00",
      max_fare: "5.00",
      min_fare: "5.00",
      settling: false,
    });
  });

  test("one shard ahead of the other: sums and settling, never a throw; exact once the other catches up", async () => {
    const two = await kpiWorld(2);
    try {
      const ids = ["a", "b", "c", "d", "e", "f"];
      for (const id of ids) await two.store.createCompleted(trip(id, "2024-05-25 10:00:00", "50"));
      const first = two.takeChanges();
      const handler = createKpiAggregatorHandler({ ...two.deps, now: () => NOW });
      for (const shard of first) await handler({ Records: shard.records, shardId: shard.shardId }, context());
      // Every trip re-matched to the previous day (INSERT there, REMOVE here), on both shards.
      for (const id of ids) {
        await two.store.createCompleted(trip(id, "2024-05-24 23:00:00", "70"));
        await two.store.db.send(
          new DeleteCommand({
            TableName: two.tableName,
            Key: { trip_id: id, sort_key: "COMPLETED#2024-05-25 10:00:00" },
          }),
        );
      }
      const [behind, ahead] = two.takeChanges().sort((a, b) => a.records.length - b.records.length);
      expect(behind!.records.length).toBeGreaterThan(0);
      // The day the trips left cannot have its max/min checked against its sums: shown as settling, the batch done.
      expect(await handler({ Records: ahead!.records, shardId: ahead!.shardId }, context())).toEqual({
        batchItemFailures: [],
        state: {},
      });
      const at = (date: string) => liveKpis(two.store.db, two.tableName, date, NOW);
      expect(await at("2024-05-25")).toMatchObject({
        trip_count: ids.length - ahead!.records.length / 2,
        max_fare: null,
        min_fare: null,
        settling: true,
      });
      for (const date of ["2024-05-24", "2024-05-25"]) {
        const kpi = await at(date);
        if (kpi && !("expired" in kpi) && kpi.max_fare !== null)
          expect(Number(kpi.max_fare)).toBeGreaterThanOrEqual(Number(kpi.average_fare));
      }
      // The batch that brings the missing changes checks again: the last change applied settles the day.
      await handler({ Records: behind!.records, shardId: behind!.shardId }, context());
      expect(await at("2024-05-24")).toMatchObject({
        trip_count: 6,
        total_fare: "420.00",
        max_fare: "70.00",
        min_fare: "70.00",
        settling: false,
      });
      expect(await at("2024-05-25")).toBeNull();
    } finally {
      await two.close();
    }
  });

  test("TTL retires a day: its EXTREMES' TTL delete marks it expired and removes its parts; later changes are not counted live", async () => {
    await world.complete(trip("a", "2024-05-25 10:00:00", "10"));
    const aggregate = aggregator();
    await aggregate(changes());
    // DynamoDB's TTL deletes EXTREMES; the stream says so with the TTL service identity.
    const extremesKey = { trip_id: "KPI#2024-05-25", sort_key: "EXTREMES" };
    await world.store.db.send(new DeleteCommand({ TableName: world.tableName, Key: extremesKey }));
    const [removal] = changes().filter((record) => record.dynamodb?.Keys?.sort_key?.S === "EXTREMES");
    expect(removal).toBeUndefined(); // a delete by anyone else does not pass the filter...
    const ttlRemoval = {
      eventID: "ttl",
      eventName: "REMOVE",
      userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" },
      dynamodb: {
        Keys: { trip_id: { S: extremesKey.trip_id }, sort_key: { S: "EXTREMES" } },
        SequenceNumber: "900000000000000000000",
        ApproximateCreationDateTime: NOW.getTime() / 1000,
      },
    } as DynamoDBRecord;
    // ...a change can even come before the TTL record: parts without EXTREMES are a day being retired.
    await world.complete(trip("b", "2024-05-25 11:00:00", "20"));
    await aggregate(changes());
    expect(await live("2024-05-25")).toEqual({ pickup_date: "2024-05-25", expired: true });
    await aggregate([ttlRemoval]);
    expect((await kpiItems()).map((item) => item.sort_key)).toEqual(["EXPIRED"]);
    await world.complete(trip("c", "2024-05-25 12:00:00", "30"));
    await aggregate(changes());
    expect(await live("2024-05-25")).toEqual({ pickup_date: "2024-05-25", expired: true });
    // A TTL delete of a completed trip (they carry no expiry) is never taken for the matcher's.
    await world.remove(trip("c", "2024-05-25 12:00:00", "30"));
    await world.complete(trip("d", "2024-05-26 12:00:00", "40"));
    const [insertD] = changes().filter((record) => record.eventName === "INSERT");
    const ttlOfTrip = {
      ...insertD!,
      eventName: "REMOVE",
      userIdentity: ttlRemoval.userIdentity,
      dynamodb: {
        ...insertD!.dynamodb!,
        OldImage: insertD!.dynamodb!.NewImage,
        NewImage: undefined,
        SequenceNumber: "900000000000000000001",
      },
    } as DynamoDBRecord;
    await aggregate([insertD!, ttlOfTrip]);
    expect(await live("2024-05-26")).toMatchObject({ trip_count: 1, total_fare: "40.00" });
  });

  test("a record that cannot be counted is skipped and named, never blocking the others", async () => {
    await world.complete(trip("a", "2024-05-25 10:00:00", "1"));
    const [record] = changes();
    const broken = { ...record!, dynamodb: { ...record!.dynamodb!, NewImage: undefined } };
    await world.complete(trip("b", "2024-05-25 11:00:00", "2"));
    expect(await aggregator()([broken, ...changes()])).toEqual({ batchItemFailures: [], state: {} });
    expect(await live("2024-05-25")).toMatchObject({ total_fare: "2.00", trip_count: 1 });
  });
});
