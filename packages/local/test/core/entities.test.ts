import { type DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { allDayShards, createTripService, dayShardOf, type TripService } from "@trip-pipeline/core/store/entities";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable, type LocalServer, startLocalDynamoDb } from "../../src/dynamo.js";

let server: LocalServer;
let raw: DynamoDBClient;
let trips: TripService;

beforeAll(async () => {
  server = await startLocalDynamoDb();
  raw = createDynamoDbClient({ endpoint: server.endpoint });
  await createTripTable(raw);
  trips = createTripService(createDocumentClient(raw), "TripData");
});
afterAll(async () => {
  raw.destroy();
  await server.close();
});

const completed = (trip_id: string, pickup: string, fare: string) => ({
  trip_id,
  pickup_datetime: pickup,
  dropoff_datetime: pickup.replace(/ \d\d/, " 23"),
  estimated_fare: "10",
  fare_amount: fare,
});

describe("TripData entities", () => {
  test("stores exact key strings and exact numbers, read back with the raw client", async () => {
    await trips.entities.rawStart
      .put({
        trip_id: "k1",
        pickup_datetime: "2024-05-25 13:19:00",
        variant: "v1",
        estimated_fare: "34.18595283806629",
        pickup_location_id: "93",
        expires_at: 1_700_000_000,
      })
      .go();
    await trips.entities.rawEnd
      .put({
        trip_id: "k1",
        dropoff_datetime: "2024-05-25 14:05:00",
        variant: "v2",
        fare_amount: "40.09620692463166",
        rate_code: "5.0",
      })
      .go();
    await trips.entities.completed.create(completed("k1", "2024-05-25 13:19:00", "40.09620692463166")).go();

    const items = (
      await raw.send(
        new QueryCommand({
          TableName: "TripData",
          KeyConditionExpression: "trip_id = :t",
          ExpressionAttributeValues: { ":t": { S: "k1" } },
        }),
      )
    ).Items!;
    expect(items.map((i) => i.sort_key!.S)).toEqual([
      "COMPLETED#2024-05-25 13:19:00",
      "RAW#END#2024-05-25 14:05:00#v2",
      "RAW#START#2024-05-25 13:19:00#v1",
    ]);
    const [done, end, start] = items;
    expect(start).toMatchObject({
      trip_id: { S: "k1" },
      event_type: { S: "start" },
      estimated_fare: { N: "34.18595283806629" },
      trip_status: { S: "pending" },
      expires_at: { N: "1700000000" },
      pickup_location_id: { N: "93" },
    });
    expect(end).toMatchObject({
      event_type: { S: "end" },
      fare_amount: { N: "40.09620692463166" },
      rate_code: { N: "5" },
    }); // DynamoDB normalises numbers: same value
    expect(done).toMatchObject({
      trip_status: { S: "completed" },
      fare_amount: { N: "40.09620692463166" },
      gsi1pk: { S: `DAY#2024-05-25#${dayShardOf("k1")}` },
      gsi1sk: { S: "2024-05-25 13:19:00#k1" },
    });
    expect(done!.expires_at).toBeUndefined();
  });

  test("put/get round-trips decimals as exact text", async () => {
    await trips.entities.rawEnd
      .put({
        trip_id: "k2",
        dropoff_datetime: "2024-05-26 00:01:02",
        variant: "v",
        fare_amount: "0.10000000000000000001",
      })
      .go();
    const { data } = await trips.entities.rawEnd
      .get({ trip_id: "k2", dropoff_datetime: "2024-05-26 00:01:02", variant: "v" })
      .go();
    expect(data).toMatchObject({
      trip_id: "k2",
      fare_amount: "0.10000000000000000001",
      event_type: "end",
      trip_status: "pending",
    });
  });

  test("queries one trip's items by sort-key prefix", async () => {
    await trips.entities.rawStart
      .put({ trip_id: "k3", pickup_datetime: "2024-05-25 08:00:00", variant: "v", estimated_fare: "5" })
      .go();
    await trips.entities.rawStart
      .put({ trip_id: "k3", pickup_datetime: "2024-05-25 08:00:05", variant: "v", estimated_fare: "6" })
      .go();
    await trips.entities.rawEnd
      .put({ trip_id: "k3", dropoff_datetime: "2024-05-25 08:30:00", variant: "v", fare_amount: "7" })
      .go();
    const starts = await trips.entities.rawStart.query.byTrip({ trip_id: "k3" }).go();
    expect(starts.data.map((s) => s.pickup_datetime)).toEqual(["2024-05-25 08:00:00", "2024-05-25 08:00:05"]);
    const items = (
      await raw.send(
        new QueryCommand({
          TableName: "TripData",
          KeyConditionExpression: "trip_id = :t AND begins_with(sort_key, :p)",
          ExpressionAttributeValues: { ":t": { S: "k3" }, ":p": { S: "RAW#" } },
        }),
      )
    ).Items!;
    expect(items).toHaveLength(3);
  });

  test("lists one day's completed trips across all GSI shards, and only completed ones", async () => {
    const day = Array.from({ length: 40 }, (_, i) =>
      completed(`d${i}`, `2024-02-29 ${String(i % 24).padStart(2, "0")}:00:00`, `${i}.5`),
    );
    await Promise.all(day.map((t) => trips.entities.completed.create(t).go()));
    await trips.entities.completed.create(completed("other-day", "2024-03-01 00:00:00", "1")).go();
    await trips.entities.rawStart
      .put({ trip_id: "pending", pickup_datetime: "2024-02-29 12:00:00", variant: "v", estimated_fare: "3" })
      .go();

    const shards = allDayShards();
    expect(new Set(day.map((t) => dayShardOf(t.trip_id))).size).toBeGreaterThan(8);
    const pages = await Promise.all(
      shards.map((day_shard) =>
        trips.entities.completed.query.byPickupDay({ pickup_date: "2024-02-29", day_shard }).go({ pages: "all" }),
      ),
    );
    const listed = pages.flatMap((p) => p.data);
    expect(listed.map((t) => t.trip_id).sort()).toEqual(day.map((t) => t.trip_id).sort());
    expect(listed.every((t) => t.trip_status === "completed")).toBe(true);
  });

  test("creating a COMPLETED item twice fails the condition; an identical one can be recognised", async () => {
    const trip = completed("k4", "2024-05-25 10:00:00", "12.34");
    await trips.entities.completed.create(trip).go();
    await expect(trips.entities.completed.create(trip).go()).rejects.toThrow(/conditional request failed/i);
    const { data } = await trips.entities.completed.get({ trip_id: "k4", pickup_datetime: "2024-05-25 10:00:00" }).go();
    expect(data).toMatchObject({ fare_amount: "12.34", dropoff_datetime: trip.dropoff_datetime });
    const item = await raw.send(
      new GetItemCommand({
        TableName: "TripData",
        Key: { trip_id: { S: "k4" }, sort_key: { S: "COMPLETED#2024-05-25 10:00:00" } },
      }),
    );
    expect(item.Item?.fare_amount).toEqual({ N: "12.34" });
  });

  test("the day shard is stable and spread across every shard", () => {
    expect(dayShardOf("c66ce556bc")).toBe(dayShardOf("c66ce556bc"));
    const used = new Set(Array.from({ length: 2000 }, (_, i) => dayShardOf(`trip-${i}`)));
    expect([...used].sort()).toEqual(allDayShards());
  });
});
