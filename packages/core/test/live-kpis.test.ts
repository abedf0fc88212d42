import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDocumentClient, createDynamoDbClient } from "../src/aws/clients.js";
import { kpiExtremesEntity, kpiShardEntity } from "../src/entities.js";
import { liveKpis } from "../src/live-kpis.js";
import { createTripTable, startLocalDynamoDb, type LocalServer } from "@trip-pipeline/local/dynamo";

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
const shard = (pickup_date: string, shard_id: string, total: string, trip_count: number, last_sequence: string, as_of?: string) =>
  db.send(new PutCommand(kpiShardEntity.put({ pickup_date, shard_id, total_fare: total, trip_count, last_sequence, as_of, expires_at: 2_000_000_000 }).params({ table: TABLE }) as Params));
const extremes = (pickup_date: string, max_fare: string, min_fare: string) =>
  db.send(new PutCommand(kpiExtremesEntity.put({ pickup_date, max_fare, min_fare, version: 1, expires_at: 2_000_000_000 }).params({ table: TABLE }) as Params));

describe("liveKpis (the read model)", () => {
  test("combines a day's shard items into the nightly row shape: exact sum, half-up on output, newest as_of", async () => {
    // Fares 0.005 + 10.004 + 20.001 on one shard, a removal of 10.004 applied by another shard (negative partial sum).
    await shard("2024-02-29", "shardId-0001", "30.01", 3, "100000000000000000001", "2024-02-29 10:00:00");
    await shard("2024-02-29", "shardId-0002", "-10.004", -1, "200000000000000000001", "2024-02-29 10:00:07");
    await extremes("2024-02-29", "20.001", "0.005");
    await shard("2024-03-01", "shardId-0001", "99", 1, "1", "2024-03-01 00:00:00");

    const kpi = await liveKpis(db, TABLE, "2024-02-29", new Date("2024-02-29T10:00:10Z"));
    expect(kpi).toEqual({
      pickup_date: "2024-02-29",
      total_fare: "20.01", // 20.006 exactly: half-up on output only
      trip_count: 2,
      average_fare: "10.00", // 10.003
      max_fare: "20.00",
      min_fare: "0.01",
      as_of: "2024-02-29 10:00:07",
      freshness_s: 3,
    });
  });

  test("null when the day has no completed trip: no items, or every trip removed again", async () => {
    expect(await liveKpis(db, TABLE, "2030-01-01", new Date())).toBeNull();
    await shard("2024-04-01", "shardId-0001", "5", 1, "7", "2024-04-01 00:00:00");
    await shard("2024-04-01", "shardId-0002", "-5", -1, "9", "2024-04-01 00:00:01");
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
});
