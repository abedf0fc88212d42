import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { reconcileKpis } from "@trip-pipeline/core/live/drift";
import { liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { kpiExpiredEntity, kpiExtremesEntity, kpiPartNumber, kpiShardEntity } from "@trip-pipeline/core/store/entities";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable, type LocalServer, startLocalDynamoDb } from "../../src/dynamo.js";

let server: LocalServer;
let raw: DynamoDBClient;
let db: DynamoDBDocumentClient;
const TABLE = "TripData";

beforeAll(async () => {
  server = await startLocalDynamoDb();
  raw = createDynamoDbClient({ endpoint: server.endpoint });
  await createTripTable(raw, TABLE);
  db = createDocumentClient(raw);
});
afterAll(async () => {
  raw.destroy();
  await server.close();
});

type Params = ConstructorParameters<typeof PutCommand>[0];
/** No tips, distance or duration unless `sums` says otherwise (a source left undefined is absent from the part). */
const shard = (
  pickup_date: string,
  shard_id: string,
  total: string,
  trip_count: number,
  last_sequence: string,
  as_of?: string,
  part = 1,
  sums: Record<string, string | undefined> = {},
) =>
  db.send(
    new PutCommand(
      kpiShardEntity
        .put({
          pickup_date,
          shard_id,
          part: kpiPartNumber(part),
          sums: JSON.parse(
            JSON.stringify({ fare_amount: total, tip_amount: "0", trip_distance: "0", duration_seconds: "0", ...sums }),
          ) as Record<string, string>,
          trip_count,
          applied: `${last_sequence}-${last_sequence}`,
          version: 1,
          as_of,
        })
        .params({ table: TABLE }) as Params,
    ),
  );
const extremes = (
  pickup_date: string,
  max_fare: string | undefined,
  min_fare: string | undefined,
  unsettled_since?: string,
) =>
  db.send(
    new PutCommand(
      kpiExtremesEntity
        // Attributes left out are absent from the item, as the aggregator leaves them.
        .put(
          JSON.parse(
            JSON.stringify({ pickup_date, version: 1, expires_at: 2_000_000_000, max_fare, min_fare, unsettled_since }),
          ) as never,
        )
        .params({ table: TABLE }) as Params,
    ),
  );

describe("liveKpis (the read model)", () => {
  test("combines a day's shard items into the nightly row shape: exact sum, half-up on output, newest as_of", async () => {
    // Fares 0.005 + 10.004 + 20.001 on one shard, a removal of 10.004 applied by another shard (negative partial sum).
    await shard("2024-02-29", "shardId-0001", "30.01", 3, "100000000000000000001", "2024-02-29 10:00:00", 1, {
      tip_amount: "2.5",
      trip_distance: "7.125",
      duration_seconds: "3000",
    });
    await shard("2024-02-29", "shardId-0002", "-10.004", -1, "200000000000000000001", "2024-02-29 10:00:07", 1, {
      tip_amount: "-0.5",
      trip_distance: "-1.12",
      duration_seconds: "-1201",
    });
    await extremes("2024-02-29", "20.001", "0.005");
    await shard("2024-03-01", "shardId-0001", "99", 1, "1", "2024-03-01 00:00:00");
    await extremes("2024-03-01", "99", "99");

    const kpi = await liveKpis(db, TABLE, "2024-02-29", new Date("2024-02-29T10:00:10Z"));
    expect(kpi).toMatchObject({
      pickup_date: "2024-02-29",
      total_fare: "20.01", // 20.006 exactly: half-up on output only
      trip_count: 2,
      average_fare: "10.00", // 10.003
      max_fare: "20.00",
      min_fare: "0.01",
      total_tip: "2.00",
      total_distance: "6.01", // 6.005
      average_duration_minutes: "14.99", // 1799 s over 2 trips: 14.991.. min
      settling: false,
      as_of: "2024-02-29 10:00:07",
      freshness_s: 3,
    });
    expect(kpi).not.toHaveProperty("median_fare");
  });

  test("a sum a part does not hold (written before its field existed) is null for the day; the other figures stand", async () => {
    await shard("2024-03-03", "shardId-0001", "10", 1, "5", "2024-03-03 00:00:00", 1, { tip_amount: undefined });
    await shard("2024-03-03", "shardId-0002", "30", 1, "9", "2024-03-03 00:00:09", 1, { tip_amount: "4" });
    await extremes("2024-03-03", "30", "10");
    expect(await liveKpis(db, TABLE, "2024-03-03", new Date("2024-03-03T00:00:10Z"))).toMatchObject({
      total_fare: "40.00",
      trip_count: 2,
      total_tip: null,
      total_distance: "0.00",
      settling: false,
    });
  });

  test("a second part of a shard adds to the first", async () => {
    await shard("2024-03-02", "shardId-0001", "10", 1, "5", "2024-03-02 00:00:00", 1);
    await shard("2024-03-02", "shardId-0001", "30", 1, "9", "2024-03-02 00:00:09", 2);
    await extremes("2024-03-02", "30", "10");
    expect(await liveKpis(db, TABLE, "2024-03-02", new Date("2024-03-02T00:00:10Z"))).toMatchObject({
      total_fare: "40.00",
      trip_count: 2,
      average_fare: "20.00",
      settling: false,
    });
  });

  // Two stream shards: the one that re-matched trips away from the day is ahead of the one that counted them in.
  test("while shards disagree: the sums, max/min only where consistent with them, settling; never a throw", async () => {
    await shard("2024-06-01", "shardId-0001", "70", 1, "3");
    await extremes("2024-06-01", undefined, undefined); // recomputed from an index that no longer holds the day's trips
    expect(await liveKpis(db, TABLE, "2024-06-01", new Date())).toMatchObject({
      total_fare: "70.00",
      trip_count: 1,
      average_fare: "70.00",
      max_fare: null,
      min_fare: null,
      settling: true,
    });

    await shard("2024-06-02", "shardId-0001", "170", 2, "3");
    await extremes("2024-06-02", "70", "70"); // max below the average: contradicts the sums
    expect(await liveKpis(db, TABLE, "2024-06-02", new Date())).toMatchObject({
      trip_count: 2,
      average_fare: "85.00",
      max_fare: null,
      min_fare: null,
      settling: true,
    });

    await shard("2024-06-03", "shardId-0001", "-70", -1, "3");
    await extremes("2024-06-03", undefined, undefined);
    expect(await liveKpis(db, TABLE, "2024-06-03", new Date())).toMatchObject({
      total_fare: "-70.00",
      trip_count: -1,
      average_fare: null,
      max_fare: null,
      settling: true,
    });

    await shard("2024-06-04", "shardId-0001", "100", 2, "3");
    await extremes("2024-06-04", "60", "40", "2024-06-04 10:00:00"); // consistent, but not checked against the sums yet
    expect(await liveKpis(db, TABLE, "2024-06-04", new Date())).toMatchObject({
      max_fare: "60.00",
      min_fare: "40.00",
      settling: true,
    });
  });

  test("a day whose live items expired is said to be, not shown as empty or as zero", async () => {
    await db.send(
      new PutCommand(
        kpiExpiredEntity
          .put({ pickup_date: "2024-07-01", expired_at: "2024-08-05 00:00:00" })
          .params({ table: TABLE }) as Params,
      ),
    );
    expect(await liveKpis(db, TABLE, "2024-07-01", new Date())).toEqual({ pickup_date: "2024-07-01", expired: true });
    // TTL took EXTREMES, the aggregator has not seen it yet: parts alone are a day being retired.
    await shard("2024-07-02", "shardId-0001", "5", 1, "3");
    expect(await liveKpis(db, TABLE, "2024-07-02", new Date())).toEqual({ pickup_date: "2024-07-02", expired: true });
  });

  test("null when the day has no completed trip: no items, or every trip removed again", async () => {
    expect(await liveKpis(db, TABLE, "2030-01-01", new Date())).toBeNull();
    await shard("2024-04-01", "shardId-0001", "5", 1, "7", "2024-04-01 00:00:00");
    await shard("2024-04-01", "shardId-0002", "-5", -1, "9", "2024-04-01 00:00:01");
    await extremes("2024-04-01", undefined, undefined);
    expect(await liveKpis(db, TABLE, "2024-04-01", new Date())).toBeNull();
  });

  test("sums beyond binary floats stay exact, whatever number handling the caller's document client uses", async () => {
    // 38 significant digits: a float would round it.
    await shard("2024-05-01", "shardId-0001", "1234567890123456789012345678901234.5675", 2, "1", "2024-05-01 00:00:00");
    await extremes("2024-05-01", "1234567890123456789012345678901234.5675", "0");
    const plain = DynamoDBDocumentClient.from(raw); // numbers not wrapped
    const kpi = await liveKpis(plain, TABLE, "2024-05-01", new Date("2024-05-01T00:01:00Z"));
    expect(kpi).toMatchObject({
      total_fare: "1234567890123456789012345678901234.57",
      average_fare: "617283945061728394506172839450617.28",
      max_fare: "1234567890123456789012345678901234.57",
      min_fare: "0.00",
      freshness_s: 60,
    });
  });

  test("reconciliation: a settling day is unsettled, not drift; an expired day is not compared; a settled difference is drift", async () => {
    await shard("2024-08-01", "shardId-0001", "170", 2, "3", "2024-08-01 10:00:00");
    await extremes("2024-08-01", "70", "70"); // settling: max below the average
    await db.send(
      new PutCommand(
        kpiExpiredEntity
          .put({ pickup_date: "2024-08-02", expired_at: "2024-09-10 00:00:00" })
          .params({ table: TABLE }) as Params,
      ),
    );
    await shard("2024-08-03", "shardId-0001", "10", 1, "3", "2024-08-03 10:00:00");
    await extremes("2024-08-03", "10", "10");
    const row = (pickup_date: string) => ({
      pickup_date,
      total_fare: "170.00",
      trip_count: 2,
      average_fare: "85.00",
      max_fare: "100.00",
      min_fare: "70.00",
    });
    const result = await reconcileKpis(
      db,
      TABLE,
      ["2024-08-01", "2024-08-02", "2024-08-03"],
      [row("2024-08-01"), row("2024-08-02"), row("2024-08-03")],
      "2024-08-04 01:00:00",
      new Date(),
    );
    expect(result).toMatchObject({ drift: 1, unsettled: ["2024-08-01"], expired: ["2024-08-02"] });
    expect(result.differing.map((day) => day.pickup_date)).toEqual(["2024-08-03"]);
    expect(result.live.map((day) => [day.pickup_date, day.settling])).toEqual([
      ["2024-08-01", true],
      ["2024-08-03", false],
    ]);
  });
});
