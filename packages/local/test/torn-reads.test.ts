import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";

const TABLE = TRIP_TABLE.name;
const KEYS = ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"];
type Item = Record<string, AttributeValue>;

let torn: EmbeddedDynamoDb;
let whole: EmbeddedDynamoDb;
let client: DynamoDBClient;
let wholeClient: DynamoDBClient;
let trip = 0;
/** Each test's own partition. */
let partition: string;

async function start(tornReads?: { seed: number }) {
  const dynamodb = await startEmbeddedDynamoDb({
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
    tornReads,
  });
  const dbClient = createDynamoDbClient({ endpoint: dynamodb.endpoint });
  await createTripTable(dbClient);
  return { dynamodb, dbClient };
}

beforeAll(async () => {
  ({ dynamodb: torn, dbClient: client } = await start({ seed: 7 }));
  ({ dynamodb: whole, dbClient: wholeClient } = await start());
});
afterAll(async () => {
  client.destroy();
  wholeClient.destroy();
  await Promise.all([torn.close(), whole.close()]);
});
beforeEach(async () => {
  trip += 1;
  partition = `trip-${trip}`;
  for (const db of [client, wholeClient])
    for (const sk of KEYS)
      await db.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { trip_id: { S: partition }, sort_key: { S: sk }, v: { N: "1" } },
        }),
      );
});

const query = (extra: Partial<QueryCommandInput> = {}): QueryCommandInput => ({
  TableName: TABLE,
  KeyConditionExpression: "trip_id = :t",
  ExpressionAttributeValues: { ":t": { S: partition } },
  ConsistentRead: true,
  ...extra,
});

/** A caller's logical Query: every page, in order; `between` runs after each page. */
async function pages(
  db: DynamoDBClient,
  input: QueryCommandInput,
  between: (page: number) => Promise<void> = async () => {},
): Promise<Item[][]> {
  const all: Item[][] = [];
  let ExclusiveStartKey = input.ExclusiveStartKey;
  do {
    const page = await db.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    all.push(page.Items ?? []);
    ExclusiveStartKey = page.LastEvaluatedKey;
    await between(all.length);
  } while (ExclusiveStartKey);
  return all;
}
const sortKeys = (items: Item[]) => items.map((i) => i.sort_key!.S!);

describe("torn Queries", () => {
  test("a Query pages at one or two items; the pages together hold every key once, in key order, either direction", async () => {
    const forward = await pages(client, query());
    expect(forward.length).toBeGreaterThan(KEYS.length / 2);
    expect(Math.max(...forward.map((page) => page.length))).toBeLessThanOrEqual(2);
    expect(new Set(forward.map((page) => page.length)).size).toBeGreaterThan(1);
    expect(sortKeys(forward.flat())).toEqual(KEYS);
    expect(sortKeys((await pages(client, query({ ScanIndexForward: false }))).flat())).toEqual([...KEYS].reverse());
    // Without torn reads the same Query is one page.
    expect((await pages(wholeClient, query())).map((page) => page.length)).toEqual([KEYS.length]);
  });

  test("Limit, ExclusiveStartKey, filters and Select COUNT keep their meaning", async () => {
    const limited = await client.send(new QueryCommand(query({ Limit: 1 })));
    expect(sortKeys(limited.Items!)).toEqual(["k1"]);
    expect(limited.LastEvaluatedKey).toEqual({ trip_id: { S: partition }, sort_key: { S: "k1" } });
    const rest = await pages(
      client,
      query({ ExclusiveStartKey: { trip_id: { S: partition }, sort_key: { S: "k6" } } }),
    );
    expect(sortKeys(rest.flat())).toEqual(["k7", "k8"]);
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { trip_id: { S: partition }, sort_key: { S: "k4" } },
        UpdateExpression: "SET v = :v",
        ExpressionAttributeValues: { ":v": { N: "2" } },
      }),
    );
    const filtered = await pages(
      client,
      query({
        FilterExpression: "v = :two",
        ExpressionAttributeValues: { ":t": { S: partition }, ":two": { N: "2" } },
      }),
    );
    expect(sortKeys(filtered.flat())).toEqual(["k4"]);
    let counted = 0;
    let ExclusiveStartKey: Item | undefined;
    do {
      const page = await client.send(new QueryCommand(query({ Select: "COUNT", ExclusiveStartKey })));
      expect(page.Items).toBeUndefined();
      counted += page.Count!;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    expect(counted).toBe(KEYS.length);
  });

  test("writes between pages show in the later pages: one logical Query returns a mix of states", async () => {
    const seen = await pages(client, query(), async (page) => {
      if (page === 1)
        for (const sk of KEYS)
          await client.send(
            new UpdateItemCommand({
              TableName: TABLE,
              Key: { trip_id: { S: partition }, sort_key: { S: sk } },
              UpdateExpression: "SET v = :v",
              ExpressionAttributeValues: { ":v": { N: "2" } },
            }),
          );
    });
    const versions = seen.flat().map((i) => i.v!.N);
    expect(sortKeys(seen.flat())).toEqual(KEYS);
    expect(versions.slice(0, seen[0]!.length).every((v) => v === "1")).toBe(true);
    expect(versions.at(-1)).toBe("2");
  });

  test("under concurrent writes every item served is a version that existed, and keys present throughout appear exactly once", async () => {
    const writes = KEYS.flatMap((sk, i) => [
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { trip_id: { S: partition }, sort_key: { S: sk } },
          UpdateExpression: "SET v = v + :one",
          ExpressionAttributeValues: { ":one": { N: "1" } },
        }),
      ),
      // Keys that come and go: they may or may not be seen, never twice.
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { trip_id: { S: partition }, sort_key: { S: `${sk}x` }, v: { N: "1" } },
        }),
      ),
      ...(i % 2 === 0
        ? [
            client.send(
              new DeleteItemCommand({
                TableName: TABLE,
                Key: { trip_id: { S: partition }, sort_key: { S: `${sk}x` } },
              }),
            ),
          ]
        : []),
    ]);
    const [seen] = await Promise.all([pages(client, query()), ...writes]);
    const keys = sortKeys(seen.flat());
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => KEYS.includes(k))).toEqual(KEYS);
    for (const item of seen.flat()) expect(["1", "2"]).toContain(item.v!.N);
  });
});
