import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";

// Long enough that the writes and reads right after them stay inside it on a loaded machine.
const LAG_MS = 1_000;
const TABLE = TRIP_TABLE.name;
const INDEX = TRIP_TABLE.completedByDay.name;
let dynamodb: EmbeddedDynamoDb;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamodb = await startEmbeddedDynamoDb({
    region: "eu-north-1",
    streamShards: 1,
    streams: [
      {
        name: TABLE,
        partitionKey: TRIP_TABLE.partitionKey,
        sortKey: TRIP_TABLE.sortKey,
        viewType: "NEW_AND_OLD_IMAGES",
      },
    ],
    gsiLagMs: LAG_MS,
  });
  client = createDynamoDbClient({ endpoint: dynamodb.endpoint });
  await createTripTable(client);
});
afterAll(async () => {
  client.destroy();
  await dynamodb.close();
});

const key = (trip: string) => ({ trip_id: { S: trip }, sort_key: { S: "COMPLETED#1" } });
const item = (trip: string, day: string, fare: string) => ({
  ...key(trip),
  gsi1pk: { S: day },
  gsi1sk: { S: trip },
  fare: { N: fare },
});

/** The fares the index shows for a day, by trip. */
async function onIndex(day: string): Promise<Record<string, string>> {
  const { Items = [] } = await client.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: INDEX,
      KeyConditionExpression: "gsi1pk = :day",
      ExpressionAttributeValues: { ":day": { S: day } },
    }),
  );
  return Object.fromEntries(Items.map((i) => [i.trip_id!.S!, i.fare!.N!]));
}

/** Polls until `check` holds; resolves with the ms since `since`. */
async function until(check: () => Promise<boolean>, since: number): Promise<number> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
  return performance.now() - since;
}

const base = async (trip: string): Promise<Record<string, AttributeValue> | undefined> =>
  (await client.send(new GetItemCommand({ TableName: TABLE, Key: key(trip), ConsistentRead: true }))).Item;

describe("GSI lag", () => {
  test("a new item shows on the index only once the lag has passed; the base table has it at once", async () => {
    const written = performance.now();
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item("new", "D1", "10") }));
    expect(await onIndex("D1")).toEqual({});
    expect((await base("new"))?.fare).toEqual({ N: "10" });
    const { Items: scanned = [] } = await client.send(new ScanCommand({ TableName: TABLE, IndexName: INDEX }));
    expect(scanned.map((i) => i.trip_id!.S)).not.toContain("new");
    const elapsed = await until(async () => (await onIndex("D1")).new === "10", written);
    expect(elapsed).toBeGreaterThanOrEqual(LAG_MS);
  });

  test("a change shows the previous version, a move between index keys leaves the item under its old key, a delete still shows: each until the lag has passed", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item("a", "D2", "1") }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item("b", "D2", "2") }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item("c", "D2", "3") }));
    await until(async () => Object.keys(await onIndex("D2")).length === 3, performance.now());

    const written = performance.now();
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key("a"),
        UpdateExpression: "SET fare = :f",
        ExpressionAttributeValues: { ":f": { N: "11" } },
      }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key("b"),
        UpdateExpression: "SET gsi1pk = :d",
        ExpressionAttributeValues: { ":d": { S: "D3" } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("c") }));

    expect(await onIndex("D2")).toEqual({ a: "1", b: "2", c: "3" });
    expect(await onIndex("D3")).toEqual({});
    expect(await base("c")).toBeUndefined();
    expect((await base("a"))?.fare).toEqual({ N: "11" });

    const elapsed = await until(
      async () => JSON.stringify(await onIndex("D2")) === JSON.stringify({ a: "11" }),
      written,
    );
    expect(elapsed).toBeGreaterThanOrEqual(LAG_MS);
    expect(await onIndex("D3")).toEqual({ b: "2" });
  });

  test("base-table reads and queries are never delayed", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: item("q", "D4", "5") }));
    const { Items = [] } = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "trip_id = :t",
        ExpressionAttributeValues: { ":t": { S: "q" } },
      }),
    );
    expect(Items.map((i) => i.fare)).toEqual([{ N: "5" }]);
  });
});
