import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import { EmulatorThread } from "../src/emulator-host.js";
import { LocalAws } from "../src/runtime.js";

let root: string;
let aws: LocalAws;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "local-transport-"));
  aws = await LocalAws.start({ root, kinesisShards: 1 });
});
afterAll(async () => {
  await aws?.close();
  await rm(root, { recursive: true, force: true });
});

/** A client as the local AWS gives its functions (its transport). */
const localClient = () =>
  createDynamoDbClient({ endpoint: aws.dynamodbEndpoint, transport: aws.platform.dynamoDbTransport });

const WIRE_ONLY = [
  "contentLengthMiddleware",
  "getUserAgentMiddleware",
  "hostHeaderMiddleware",
  "recursionDetectionMiddleware",
  "loggerMiddleware",
];
const names = (client: DynamoDBClient) => client.middlewareStack.identify().map((entry) => entry.split(" ")[0]!);

/** The headers of each request as it leaves the SDK's stack (after signing), for the transport. */
function captureHeaders(client: DynamoDBClient): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: "deserialize", name: "captureHeaders" },
  );
  return seen;
}

describe("the local DynamoDB client configuration", () => {
  test("a client given the local transport skips what only the wire needs (signature, headers) and still reads and writes the table", async () => {
    const client = localClient();
    const headers = captureHeaders(client);
    expect(names(client).filter((name) => WIRE_ONLY.includes(name))).toEqual([]);
    const Item = {
      [TRIP_TABLE.partitionKey]: { S: "t1" },
      [TRIP_TABLE.sortKey]: { S: "RAW#START#2024-05-25 10:00:00" },
      fare: { N: "12.5" },
    };
    await client.send(new PutItemCommand({ TableName: aws.tableName, Item }));
    const { Item: read } = await client.send(
      new GetItemCommand({
        TableName: aws.tableName,
        Key: { trip_id: Item.trip_id, sort_key: Item.sort_key },
        ConsistentRead: true,
      }),
    );
    expect(read).toEqual(Item);
    expect(headers.map((h) => h.authorization)).toEqual([undefined, undefined]);
    expect(headers.map((h) => h["x-amz-target"])).toEqual(["DynamoDB_20120810.PutItem", "DynamoDB_20120810.GetItem"]);
    client.destroy();
  });

  test("a client without it (Lambda's, in AWS) keeps the SDK's whole stack: HTTP, signed, with its headers", async () => {
    const client = createDynamoDbClient({ endpoint: "http://127.0.0.1:1", maxAttempts: 1 });
    const headers = captureHeaders(client);
    expect(names(client)).toEqual(expect.arrayContaining(WIRE_ONLY));
    // Nothing listens there: the request is built and signed, then refused by the network.
    await expect(
      client.send(
        new GetItemCommand({ TableName: aws.tableName, Key: { trip_id: { S: "t1" }, sort_key: { S: "x" } } }),
      ),
    ).rejects.toThrow();
    expect(headers).toHaveLength(1);
    expect(headers[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=/);
    expect(headers[0]!["user-agent"] ?? headers[0]!["x-amz-user-agent"]).toBeTruthy();
    client.destroy();
  });
});

describe("the document client", () => {
  test("resolves a command class's middleware once, yet each command sends its own input and middleware added later applies", async () => {
    const client = localClient();
    const documents = createDocumentClient(client);
    const item = (id: string) => ({
      [TRIP_TABLE.partitionKey]: id,
      [TRIP_TABLE.sortKey]: "RAW#END#2024-05-25 10:00:00",
      fare: 1,
    });
    // The SDK's own cache would send the first PutCommand three times.
    await Promise.all(
      ["d1", "d2", "d3"].map((id) => documents.send(new PutCommand({ TableName: aws.tableName, Item: item(id) }))),
    );
    const headers = captureHeaders(client);
    const read = await documents.send(
      new QueryCommand({
        TableName: aws.tableName,
        KeyConditionExpression: "#pk = :trip",
        ExpressionAttributeNames: { "#pk": TRIP_TABLE.partitionKey },
        ExpressionAttributeValues: { ":trip": "d2" },
      }),
    );
    expect(read.Items).toEqual([{ ...item("d2"), fare: expect.objectContaining({ value: "1" }) }]);
    for (const id of ["d1", "d3"]) {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: aws.tableName,
          Key: { [TRIP_TABLE.partitionKey]: id, [TRIP_TABLE.sortKey]: "RAW#END#2024-05-25 10:00:00" },
        }),
      );
      expect(Item?.[TRIP_TABLE.partitionKey]).toBe(id);
    }
    expect(headers).toHaveLength(3);
  });
});

describe("the embedded DynamoDB behind the transport", () => {
  test("a write whose key is incomplete is refused as DynamoDB refuses it (ValidationException), and the emulator keeps serving", async () => {
    const client = localClient();
    const put = client.send(
      new PutItemCommand({ TableName: aws.tableName, Item: { [TRIP_TABLE.partitionKey]: { S: "no-sort-key" } } }),
    );
    const read = client.send(
      new GetItemCommand({ TableName: aws.tableName, Key: { trip_id: { S: "t1" }, sort_key: { S: "none" } } }),
    );
    await expect(put).rejects.toMatchObject({ name: "ValidationException" });
    await expect(read).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    client.destroy();
  });
});

describe("the emulator thread's answers", () => {
  test("a write's stream record is on the stream before its reply arrives, for calls batched together", async () => {
    const client = localClient();
    const before = aws.changes.size;
    let replies = 0;
    const seen: { replies: number; records: number }[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client
          .send(
            new PutItemCommand({
              TableName: aws.tableName,
              Item: { trip_id: { S: `order-${i}` }, sort_key: { S: "RAW#START#2024-05-25 10:00:00" } },
            }),
          )
          .then(() => {
            replies += 1;
            seen.push({ replies, records: aws.changes.size - before });
          }),
      ),
    );
    expect(seen.filter((s) => s.records < s.replies)).toEqual([]);
    expect(aws.changes.size - before).toBe(50);
    client.destroy();
  });

  test("a reader that falls behind leaves the table's stream records in the thread: only the window crosses, the rest follows as it reads", async () => {
    const { name, partitionKey, sortKey, streamView } = TRIP_TABLE;
    const thread = await EmulatorThread.start({
      region: "eu-north-1",
      streamShards: 1,
      streams: [{ name, partitionKey, sortKey, viewType: streamView }],
      streamWindow: 20,
    });
    const client = createDynamoDbClient({ endpoint: thread.dynamodbEndpoint });
    try {
      await createTripTable(client);
      const log = thread.streams.get(name)!;
      const cursor = log.cursor(0);
      const put = (i: number) =>
        thread.callDynamoDb(
          "PutItem",
          JSON.stringify({
            TableName: name,
            Item: { trip_id: { S: `slow-${i}` }, sort_key: { S: "RAW#START#2024-05-25 10:00:00" } },
          }),
        );
      await Promise.all(Array.from({ length: 100 }, (_, i) => put(i)));
      await thread.sync();
      expect([log.size, thread.heldBack]).toEqual([20, 80]);
      const read: string[] = [];
      for (let page = 0; page < 50 && read.length < 100; page += 1) {
        read.push(...cursor.read(15).map((record) => record.dynamodb!.Keys!.trip_id!.S!));
        await thread.sync();
        expect(log.size - read.length).toBeLessThanOrEqual(20);
      }
      expect(read).toEqual(Array.from({ length: 100 }, (_, i) => `slow-${i}`));
      expect(thread.heldBack).toBe(0);
    } finally {
      client.destroy();
      await thread.close();
    }
  });

  test("a call asked in the same turn as close() is answered before the thread closes, and nothing asked after it hangs", async () => {
    const thread = await EmulatorThread.start({ region: "eu-north-1", streamShards: 1, streams: [] });
    const asked = thread.callDynamoDb("ListTables", "{}");
    const closed = thread.close();
    await expect(asked).resolves.toMatchObject({ status: 200 });
    await closed;
    await expect(thread.callDynamoDb("ListTables", "{}")).rejects.toThrow(/closed/);
  });
});
