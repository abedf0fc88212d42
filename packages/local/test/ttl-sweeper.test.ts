import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import type { DynamoDBRecord } from "aws-lambda";
import { afterEach, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import type { ChangeLog } from "../src/dynamo-streams.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";
import type { TtlOptions } from "../src/ttl-sweeper.js";

const TABLE = TRIP_TABLE.name;
const DAY_MS = 24 * 3600 * 1000;
const SERVICE = { type: "Service", principalId: "dynamodb.amazonaws.com" };
const nowSeconds = () => Math.floor(Date.now() / 1000);
const key = (trip: string, sk = "RAW#START#2024-02-29 10:00:00") => ({ trip_id: { S: trip }, sort_key: { S: sk } });
const records = (log: ChangeLog): DynamoDBRecord[] => log.shards.flatMap((shard) => shard.records);
const removesOf = (log: ChangeLog, trip: string) =>
  records(log).filter((r) => r.eventName === "REMOVE" && r.dynamodb?.Keys?.trip_id?.S === trip);

let opened: { dynamodb: EmbeddedDynamoDb; client: DynamoDBClient }[] = [];
afterEach(async () => {
  for (const { dynamodb, client } of opened) {
    client.destroy();
    await dynamodb.close();
  }
  opened = [];
});

async function embedded(ttl: TtlOptions) {
  const dynamodb = await startEmbeddedDynamoDb({
    region: "eu-north-1",
    streamShards: 2,
    streams: [
      {
        name: TABLE,
        partitionKey: TRIP_TABLE.partitionKey,
        sortKey: TRIP_TABLE.sortKey,
        viewType: "NEW_AND_OLD_IMAGES",
        ttlAttribute: TRIP_TABLE.ttlAttribute,
      },
    ],
    ttl,
  });
  const client = createDynamoDbClient({ endpoint: dynamodb.endpoint });
  opened.push({ dynamodb, client });
  await createTripTable(client);
  const put = (trip: string, extra: Record<string, { N: string } | { S: string }> = {}) =>
    client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(trip), ...extra } }));
  const exists = async (trip: string) =>
    (await client.send(new GetItemCommand({ TableName: TABLE, Key: key(trip), ConsistentRead: true }))).Item !==
    undefined;
  return { dynamodb, client, log: dynamodb.streams.get(TABLE)!, put, exists };
}

/** Sweeps only when a test advances the clock. */
const MANUAL: TtlOptions = { sweepMs: 3_600_000 };

describe("TTL on the embedded DynamoDB", () => {
  test("expired items are deleted with a REMOVE record carrying the TTL service identity; unexpired, missing, non-number and over five years old ones stay", async () => {
    const { dynamodb, log, put, exists } = await embedded(MANUAL);
    await put("expired", { expires_at: { N: String(nowSeconds() - 60) }, fare: { N: "7" } });
    await put("future", { expires_at: { N: String(nowSeconds() + 3600) } });
    await put("none");
    await put("text", { expires_at: { S: String(nowSeconds() - 60) } });
    await put("ancient", { expires_at: { N: String(nowSeconds() - 6 * 365 * 24 * 3600) } });

    expect(await dynamodb.advanceTtlClock(0)).toBe(1);
    expect(await exists("expired")).toBe(false);
    for (const trip of ["future", "none", "text", "ancient"]) expect(await exists(trip), trip).toBe(true);
    const [remove, ...more] = removesOf(log, "expired");
    expect(more).toEqual([]);
    expect(remove).toMatchObject({
      userIdentity: SERVICE,
      dynamodb: { Keys: key("expired"), OldImage: { fare: { N: "7" } } },
    });
    // A client's writes carry no identity.
    expect(records(log).filter((r) => r.userIdentity)).toEqual([remove]);
    expect(log.serviceRemoves).toBe(1);
  });

  test("advancing the clock expires items in the future; a refresh before the sweep keeps its item", async () => {
    const { dynamodb, log, put, exists } = await embedded(MANUAL);
    await put("week", { expires_at: { N: String(nowSeconds() + 7 * 24 * 3600) } });
    await put("refreshed", { expires_at: { N: String(nowSeconds() + 7 * 24 * 3600) } });
    await put("month", { expires_at: { N: String(nowSeconds() + 30 * 24 * 3600) } });
    await put("refreshed", { expires_at: { N: String(nowSeconds() + 30 * 24 * 3600) } });

    expect(await dynamodb.advanceTtlClock(8 * DAY_MS)).toBe(1);
    expect(await exists("week")).toBe(false);
    expect(await exists("refreshed")).toBe(true);
    expect(await exists("month")).toBe(true);
    // The clock stays moved: 31 days on, the rest expire.
    expect(await dynamodb.advanceTtlClock(23 * DAY_MS)).toBe(2);
    expect(
      records(log)
        .filter((r) => r.userIdentity)
        .map((r) => r.dynamodb!.Keys!.trip_id!.S)
        .sort(),
    ).toEqual(["month", "refreshed", "week"]);
  });

  test("the delete is conditional: a write that refreshes the item while the sweep runs wins, and no record is made", async () => {
    const { dynamodb, log, put, exists } = await embedded(MANUAL);
    await put("raced", { expires_at: { N: String(nowSeconds() - 5) } });
    // The refresh takes the item's lock first; the sweep, started in the same turn, still sees the old expiry.
    const refresh = dynamodb.call(
      "UpdateItem",
      JSON.stringify({
        TableName: TABLE,
        Key: key("raced"),
        UpdateExpression: "SET expires_at = :e",
        ExpressionAttributeValues: { ":e": { N: String(nowSeconds() + 3600) } },
      }),
    );
    const swept = dynamodb.advanceTtlClock(0);
    expect((await refresh).status).toBe(200);
    expect(await swept).toBe(0);
    expect(await exists("raced")).toBe(true);
    expect(removesOf(log, "raced")).toEqual([]);
  });

  test("without advancing, a sweep about every second deletes what expired by the wall clock", async () => {
    const { put, exists } = await embedded({});
    await put("soon", { expires_at: { N: String(nowSeconds() + 1) } });
    expect(await exists("soon")).toBe(true);
    const started = performance.now();
    while ((await exists("soon")) && performance.now() - started < 5_000)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await exists("soon")).toBe(false);
  });
});
