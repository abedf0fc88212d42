import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import { ChangeLog, normalizeNumber, sameItem } from "../src/dynamo-streams.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";
import { Throttle } from "../src/throttle.js";

const TABLE = "TripData";
let dynamodb: EmbeddedDynamoDb;
let client: DynamoDBClient;
let stream: ChangeLog;
let before = new Set<string>();

beforeAll(async () => {
  dynamodb = await startEmbeddedDynamoDb({
    region: "eu-north-1",
    streamShards: 4,
    streams: [{ name: TABLE, partitionKey: "trip_id", sortKey: "sort_key", viewType: "NEW_AND_OLD_IMAGES" }],
  });
  client = createDynamoDbClient({ endpoint: dynamodb.endpoint });
  await createTripTable(client);
  stream = dynamodb.streams.get(TABLE)!;
});
afterAll(async () => {
  client.destroy();
  await dynamodb.close();
});
const allRecords = () => stream.shards.flatMap((shard) => shard.records);
beforeEach(() => {
  before = new Set(allRecords().map((r) => r.eventID!));
});

const key = (trip: string, sk = "RAW#START#2024-02-29 10:00:00") => ({ trip_id: { S: trip }, sort_key: { S: sk } });

/** Records appended since the test began, in sequence-number order. */
function newRecords() {
  return allRecords()
    .filter((r) => !before.has(r.eventID!))
    .sort((a, b) => (a.dynamodb!.SequenceNumber! < b.dynamodb!.SequenceNumber! ? -1 : 1));
}

describe("DynamoDB Streams on the embedded DynamoDB", () => {
  test("insert, modify and remove carry the images of exactly the write (numbers as stored)", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("t1"), fare: { N: "12.50" } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("t1"), fare: { N: "13" } } }));
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key("t1"),
        UpdateExpression: "SET note = :n",
        ExpressionAttributeValues: { ":n": { S: "late" } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("t1") }));

    const records = newRecords();
    expect(records.map((r) => r.eventName)).toEqual(["INSERT", "MODIFY", "MODIFY", "REMOVE"]);
    const [insert, modify, update, remove] = records.map((r) => r.dynamodb!);
    expect(insert).toMatchObject({
      Keys: key("t1"),
      NewImage: { ...key("t1"), fare: { N: "12.5" } },
      StreamViewType: "NEW_AND_OLD_IMAGES",
    });
    expect(insert!.OldImage).toBeUndefined();
    expect(modify).toMatchObject({ OldImage: { fare: { N: "12.5" } }, NewImage: { fare: { N: "13" } } });
    expect(update).toMatchObject({
      OldImage: { fare: { N: "13" } },
      NewImage: { fare: { N: "13" }, note: { S: "late" } },
    });
    expect(remove).toMatchObject({ Keys: key("t1"), OldImage: { note: { S: "late" } } });
    expect(remove!.NewImage).toBeUndefined();
    expect(records[0]).toMatchObject({
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "eu-north-1",
      eventSourceARN: stream.arn,
    });
    expect(stream.arn).toMatch(/^arn:aws:dynamodb:eu-north-1:\d{12}:table\/TripData\/stream\//);
  });

  test("writes that change nothing produce no record: same item again, failed condition, delete of a missing item", async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key("t2"), fare: { N: "5" }, tags: { SS: ["a", "b"] } } }),
    );
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key("t2"), fare: { N: "5.0" }, tags: { SS: ["b", "a"] } } }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key("t2"),
        UpdateExpression: "SET fare = :f",
        ExpressionAttributeValues: { ":f": { N: "5" } },
      }),
    );
    await expect(
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { ...key("t2"), fare: { N: "6" } },
          ConditionExpression: "attribute_not_exists(trip_id)",
        }),
      ),
    ).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("missing") }));
    expect(newRecords().map((r) => r.eventName)).toEqual(["INSERT"]);
  });

  test("callers get the return values they asked for, whatever the capture asked dynalite", async () => {
    const put = await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("t3"), v: { N: "1" } } }));
    expect(put.Attributes).toBeUndefined();
    const again = await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key("t3"), v: { N: "2" } }, ReturnValues: "ALL_OLD" }),
    );
    expect(again.Attributes).toMatchObject({ v: { N: "1" } });
    const updated = await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key("t3"),
        UpdateExpression: "SET v = :v",
        ExpressionAttributeValues: { ":v": { N: "3" } },
        ReturnValues: "ALL_OLD",
      }),
    );
    expect(updated.Attributes).toMatchObject({ v: { N: "2" } });
    const plain = await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key("t3"),
        UpdateExpression: "SET v = :v",
        ExpressionAttributeValues: { ":v": { N: "4" } },
      }),
    );
    expect(plain.Attributes).toBeUndefined();
    const deleted = await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("t3") }));
    expect(deleted.Attributes).toBeUndefined();
  });

  test("a batch write records each changed item, with the old images read before the write", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("b1"), v: { N: "1" } } }));
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: [
            { PutRequest: { Item: { ...key("b1"), v: { N: "2" } } } },
            { PutRequest: { Item: { ...key("b2"), v: { N: "1" } } } },
            { DeleteRequest: { Key: key("b3") } },
          ],
        },
      }),
    );
    await client.send(
      new BatchWriteItemCommand({ RequestItems: { [TABLE]: [{ DeleteRequest: { Key: key("b2") } }] } }),
    );
    const records = newRecords().map((r) => [
      r.eventName,
      r.dynamodb!.Keys!.trip_id!.S,
      r.dynamodb!.OldImage?.v?.N,
      r.dynamodb!.NewImage?.v?.N,
    ]);
    expect(records).toEqual([
      ["INSERT", "b1", undefined, "1"],
      ["MODIFY", "b1", "1", "2"],
      ["INSERT", "b2", undefined, "1"],
      ["REMOVE", "b2", "1", undefined],
    ]);
  });

  test("concurrent writers to one item: every record's old image is the previous record's new image", async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 3 === 2
          ? client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("hot") }))
          : client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("hot"), v: { N: String(i) } } })),
      ),
    );
    const records = newRecords();
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: key("hot"), ConsistentRead: true }));
    let current: Record<string, unknown> | undefined;
    for (const record of records) {
      expect(record.dynamodb!.OldImage).toEqual(current);
      current = record.dynamodb!.NewImage;
    }
    expect(current).toEqual(Item);
    // One item's records stay on one shard, so a shard reader sees them in write order.
    expect(new Set(records.map((r) => stream.shards.findIndex((s) => s.records.includes(r)))).size).toBe(1);
  });

  test("records of different partitions spread over the shards; sequence numbers increase", async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(`spread-${i}`) } })),
      ),
    );
    const records = newRecords();
    expect(records).toHaveLength(40);
    for (const shard of stream.shards) {
      const numbers = shard.records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
      expect(numbers).toEqual([...numbers].sort((a, b) => (a < b ? -1 : 1)));
    }
    expect(
      stream.shards.filter((shard) => shard.records.some((r) => r.dynamodb!.Keys!.trip_id!.S!.startsWith("spread-")))
        .length,
    ).toBeGreaterThan(1);
  });
});

describe("throttling on the embedded DynamoDB", () => {
  test("a throttled call fails with ProvisionedThroughputExceededException and changes nothing; batch writes come back partly unprocessed", async () => {
    const throttle = new Throttle({ rate: 1, seed: 3 });
    const throttled = await startEmbeddedDynamoDb({
      region: "eu-north-1",
      streamShards: 1,
      streams: [{ name: TABLE, partitionKey: "trip_id", sortKey: "sort_key", viewType: "NEW_AND_OLD_IMAGES" }],
      throttle,
    });
    const setup = createDynamoDbClient({ endpoint: throttled.endpoint });
    const once = createDynamoDbClient({ endpoint: throttled.endpoint, maxAttempts: 1 });
    try {
      await createTripTable(setup); // table management is never throttled
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          once.send(
            new BatchWriteItemCommand({
              RequestItems: { [TABLE]: [1, 2, 3, 4].map((j) => ({ PutRequest: { Item: key(`th-${i}-${j}`) } })) },
            }),
          ),
        ),
      );
      const rejected = results.filter((r) => r.status === "rejected");
      const partial = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(rejected.length).toBeGreaterThan(0);
      expect(
        rejected.every((r) => (r as PromiseRejectedResult).reason.name === "ProvisionedThroughputExceededException"),
      ).toBe(true);
      expect(partial.length).toBeGreaterThan(0);
      const unprocessed = partial.reduce((sum, r) => sum + (r.UnprocessedItems?.[TABLE]?.length ?? 0), 0);
      expect(unprocessed).toBeGreaterThan(0);
      const written = throttled.streams.get(TABLE)!.size;
      expect(written).toBe(partial.length * 4 - unprocessed);
    } finally {
      setup.destroy();
      once.destroy();
      await throttled.close();
    }
  });
});

describe("stream cursors", () => {
  test("each cursor reads every record of its shard in order; records read by all cursors are dropped", () => {
    const log = new ChangeLog({ name: "T", partitionKey: "pk", viewType: "KEYS_ONLY" }, "eu-north-1", 1);
    const [fast, slow] = [log.cursor(0), log.cursor(0)];
    const seqs = (records: { dynamodb?: { SequenceNumber?: string } }[]) =>
      records.map((r) => Number(r.dynamodb!.SequenceNumber!.slice(1)));
    for (let i = 0; i < 3_000; i += 1)
      log.append({ pk: { S: "same" } }, undefined, { pk: { S: "same" }, i: { N: String(i) } });
    expect(seqs(fast.read(2_500))).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    expect(log.shards[0]!.records).toHaveLength(3_000); // the slow cursor has read nothing yet
    expect(seqs(slow.read(2_000))).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    expect(log.shards[0]!.records).toHaveLength(1_000);
    expect(seqs([...fast.read(1_000), ...slow.read(1_000)])).toEqual([
      ...Array.from({ length: 500 }, (_, i) => i + 2_501),
      ...Array.from({ length: 1_000 }, (_, i) => i + 2_001),
    ]);
    expect(log.cursor(0).read(10)).toHaveLength(10); // a new cursor starts at the oldest record kept
    expect(log.size).toBe(3_000);
  });
});

describe("item comparison", () => {
  test("numbers by value, sets and maps in any order", () => {
    expect(normalizeNumber("12.50")).toBe("12.5");
    expect(normalizeNumber("0012.0")).toBe("12");
    expect(normalizeNumber("1.5E2")).toBe("150");
    expect(normalizeNumber("-0.0015e1")).toBe("-0.015");
    expect(normalizeNumber("0.000")).toBe("0");
    expect(
      sameItem(
        { a: { N: "1.0" }, m: { M: { x: { S: "1" }, y: { NS: ["2", "1.0"] } } } },
        { m: { M: { y: { NS: ["1", "2"] }, x: { S: "1" } } }, a: { N: "1" } },
      ),
    ).toBe(true);
    expect(sameItem({ a: { N: "1" } }, { a: { S: "1" } })).toBe(false);
    expect(sameItem({ a: { L: [{ N: "1" }, { N: "2" }] } }, { a: { L: [{ N: "2" }, { N: "1" }] } })).toBe(false);
    expect(sameItem({ a: { S: "x" } }, { a: { S: "x" }, b: { NULL: true } })).toBe(false);
  });
});
