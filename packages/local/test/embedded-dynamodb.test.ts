/**
 * What the embedded DynamoDB holds over a long run: a Query must not leave dynalite's store
 * iterator open (each open iterator pins the in-memory tree as it was when the Query started, so
 * a run of millions of Queries would keep every old version of the table alive).
 */
import { createRequire } from "node:module";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";

/** The store class dynalite itself loads: its iterators attach to it while open and detach when closed. */
const fromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite/package.json"));
const { MemoryLevel } = fromDynalite("memory-level") as {
  MemoryLevel: { prototype: { attachResource(resource: object): void; detachResource(resource: object): void } };
};

const open = new Set<object>();
const { attachResource, detachResource } = MemoryLevel.prototype;
let dynamodb: EmbeddedDynamoDb;

beforeAll(async () => {
  MemoryLevel.prototype.attachResource = function (resource) {
    open.add(resource);
    attachResource.call(this, resource);
  };
  MemoryLevel.prototype.detachResource = function (resource) {
    open.delete(resource);
    detachResource.call(this, resource);
  };
  dynamodb = await startEmbeddedDynamoDb({ region: "eu-north-1", streamShards: 1, streams: [] });
  const client = createDynamoDbClient({ endpoint: dynamodb.endpoint });
  await createTripTable(client);
  client.destroy();
});
afterAll(async () => {
  MemoryLevel.prototype.attachResource = attachResource;
  MemoryLevel.prototype.detachResource = detachResource;
  await dynamodb?.close();
});

describe("the embedded DynamoDB over many Queries", () => {
  test("a Query (base table or index, with items or none) leaves no store iterator open", async () => {
    const put = (trip: string, sort_key: string) =>
      dynamodb.call(
        "PutItem",
        JSON.stringify({
          TableName: TRIP_TABLE.name,
          Item: { trip_id: { S: trip }, sort_key: { S: sort_key }, gsi1pk: { S: "DAY#1" }, gsi1sk: { S: trip } },
        }),
      );
    const query = (body: Record<string, unknown>) =>
      dynamodb.call("Query", JSON.stringify({ TableName: TRIP_TABLE.name, ...body }));
    const byTrip = (trip: string) =>
      query({ KeyConditionExpression: "trip_id = :t", ExpressionAttributeValues: { ":t": { S: trip } } });
    const byDay = () =>
      query({
        IndexName: TRIP_TABLE.completedByDay.name,
        KeyConditionExpression: "gsi1pk = :d",
        ExpressionAttributeValues: { ":d": { S: "DAY#1" } },
        Limit: 2,
      });

    const queries = 200;
    for (let i = 0; i < queries; i += 1) {
      expect((await put(`t${i}`, "RAW#START")).status).toBe(200);
      const replies = await Promise.all([byTrip(`t${i}`), byTrip(`missing-${i}`), byDay()]);
      expect(replies.map((reply) => reply.body.Count)).toEqual([1, 0, Math.min(2, i + 1)]);
    }
    // A stream closes its iterator a turn or two after its last item.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(open.size).toBeLessThan(5);
  });
});
