import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDynamoDbClient } from "@trip-pipeline/core/aws/clients";
import { TRIP_TABLE } from "@trip-pipeline/core/pipeline-spec";
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

const WIRE_ONLY = ["contentLengthMiddleware", "getUserAgentMiddleware", "hostHeaderMiddleware", "recursionDetectionMiddleware", "loggerMiddleware"];
const names = (client: DynamoDBClient) => client.middlewareStack.identify().map((entry) => entry.split(" ")[0]!);

/** The headers of each request as it leaves the SDK's stack (after signing), for the transport. */
function captureHeaders(client: DynamoDBClient): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  client.middlewareStack.add((next) => async (args) => {
    seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
    return next(args);
  }, { step: "deserialize", name: "captureHeaders" });
  return seen;
}

describe("the local DynamoDB client configuration", () => {
  test("a client of the local endpoint skips what only the wire needs (signature, headers) and still reads and writes the table", async () => {
    const client = createDynamoDbClient({ endpoint: aws.dynamodbEndpoint });
    const headers = captureHeaders(client);
    expect(names(client).filter((name) => WIRE_ONLY.includes(name))).toEqual([]);
    const Item = { [TRIP_TABLE.partitionKey]: { S: "t1" }, [TRIP_TABLE.sortKey]: { S: "RAW#START#2024-05-25 10:00:00" }, fare: { N: "12.5" } };
    await client.send(new PutItemCommand({ TableName: aws.tableName, Item }));
    const { Item: read } = await client.send(new GetItemCommand({ TableName: aws.tableName, Key: { trip_id: Item.trip_id, sort_key: Item.sort_key }, ConsistentRead: true }));
    expect(read).toEqual(Item);
    expect(headers.map((h) => h.authorization)).toEqual([undefined, undefined]);
    expect(headers.map((h) => h["x-amz-target"])).toEqual(["DynamoDB_20120810.PutItem", "DynamoDB_20120810.GetItem"]);
    client.destroy();
  });

  test("a client of any other endpoint (Lambda's, in AWS) keeps the SDK's whole stack", () => {
    const client = createDynamoDbClient({ endpoint: "http://127.0.0.1:1" });
    expect(names(client)).toEqual(expect.arrayContaining(WIRE_ONLY));
    client.destroy();
  });
});
