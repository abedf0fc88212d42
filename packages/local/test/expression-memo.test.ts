/**
 * The embedded DynamoDB parses each expression once per set of names and value types: what a
 * request gets must be what dynalite's own parse gives it, with its own values, its own errors
 * and its own unused names and values struck off.
 */
import { createRequire } from "node:module";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable } from "../src/dynamo.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";
import { memoized } from "../src/expression-memo.js";

type Values = Record<string, Record<string, string>>;
type Parse = (expression: string, options: { context: Record<string, unknown> }) => unknown;
const fromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite/package.json"));

/** dynalite's condition parser as shipped: a module instance of its own, never wrapped. */
function pristineConditionParser(): Parse {
  const path = fromDynalite.resolve("./db/conditionParser");
  const cached = fromDynalite.cache[path];
  delete fromDynalite.cache[path];
  const { parse } = fromDynalite(path) as { parse: Parse };
  if (cached) fromDynalite.cache[path] = cached;
  return parse;
}
const { compare } = fromDynalite("./db") as { compare: unknown };
/** A few of DynamoDB's reserved words (dynalite keeps its list private). */
const isReserved = (name: string) => ["NAME", "DATE", "VALUE"].includes(name.toUpperCase());

/** The context dynalite's validations give a parse. */
function contextOf(names: Record<string, string>, values: Values) {
  return {
    attrNames: names,
    attrVals: values,
    unusedAttrNames: Object.fromEntries(Object.keys(names).map((name) => [name, true])),
    unusedAttrVals: Object.fromEntries(Object.keys(values).map((name) => [name, true])),
    isReserved,
    compare,
  };
}

describe("expression parses kept per names and value types", () => {
  const parse = pristineConditionParser();
  const cases: [string, Record<string, string>, Values][] = [
    ["#pk = :trip", { "#pk": "trip_id" }, { ":trip": { S: "a1" } }],
    ["#pk = :trip", { "#pk": "trip_id" }, { ":trip": { S: "b2" } }],
    ["#pk = :trip", { "#pk": "trip_id" }, { ":trip": { N: "7" } }],
    ["attribute_not_exists(#pk) AND attribute_not_exists(#sk)", { "#pk": "trip_id", "#sk": "sort_key" }, {}],
    ["#v0 = :v0 AND attribute_exists(#sk)", { "#v0": "fare", "#sk": "sort_key" }, { ":v0": { N: "10.5" } }],
    ["#v0 = :v0 AND attribute_exists(#sk)", { "#v0": "fare", "#sk": "sort_key" }, { ":v0": { N: "12" } }],
    ["begins_with(#sk, :p)", { "#sk": "sort_key" }, { ":p": { S: "RAW#" } }],
    ["begins_with(#sk, :p)", { "#sk": "sort_key" }, { ":p": { N: "1" } }],
    ["#a = :x", { "#a": "a", "#unused": "b" }, { ":x": { S: "1" }, ":y": { S: "2" } }],
    ["#a = :missing", { "#a": "a" }, { ":x": { S: "1" } }],
    ["#a BETWEEN :lo AND :hi", { "#a": "a" }, { ":lo": { N: "1" }, ":hi": { N: "2" } }],
    ["#a BETWEEN :lo AND :hi", { "#a": "a" }, { ":lo": { N: "3" }, ":hi": { N: "2" } }],
    ["#a = = :x", { "#a": "a" }, { ":x": { S: "1" } }],
    ["name = :x", {}, { ":x": { S: "1" } }],
    ["name = :x", {}, { ":x": { S: "1" } }],
  ];

  test("every request gets what dynalite's own parse gives it: tree, values, errors, unused lists", () => {
    const memo = memoized(parse);
    for (const [expression, names, values] of cases) {
      const run = (p: Parse) => {
        const context = contextOf(names, structuredClone(values));
        let result: unknown;
        try {
          result = p(expression, { context });
        } catch (error) {
          result = `throws ${(error as Error).name}: ${(error as Error).message}`;
        }
        return { result, unusedAttrNames: context.unusedAttrNames, unusedAttrVals: context.unusedAttrVals };
      };
      expect(run(memo), `${expression} with ${JSON.stringify(values)}`).toEqual(run(parse));
    }
  });

  test("a repeated expression is parsed once per value types; BETWEEN every time", () => {
    let parses = 0;
    const memo = memoized((expression, options) => {
      parses += 1;
      return parse(expression, options);
    });
    const key = (trip: Record<string, string>) =>
      memo("#pk = :trip", { context: contextOf({ "#pk": "trip_id" }, { ":trip": trip }) });
    const trees = [key({ S: "a" }), key({ S: "b" }), key({ S: "c" })];
    expect(parses).toBe(1);
    // Each request's tree holds its own value, not the first one's.
    expect(JSON.stringify(trees)).toMatch(/"a".*"b".*"c"/);
    key({ N: "1" });
    expect(parses).toBe(2);
    const between = () =>
      memo("#a BETWEEN :lo AND :hi", {
        context: contextOf({ "#a": "a" }, { ":lo": { N: "1" }, ":hi": { N: "2" } }),
      });
    between();
    between();
    expect(parses).toBe(4);
  });
});

describe("the embedded DynamoDB with kept parses", () => {
  let dynamodb: EmbeddedDynamoDb;
  beforeAll(async () => {
    dynamodb = await startEmbeddedDynamoDb({ region: "eu-north-1", streamShards: 1, streams: [] });
    const client = createDynamoDbClient({ endpoint: dynamodb.endpoint });
    await createTripTable(client);
    client.destroy();
  });
  afterAll(() => dynamodb?.close());

  const call = (operation: string, body: Record<string, unknown>) =>
    dynamodb.call(operation, JSON.stringify({ TableName: TRIP_TABLE.name, ...body }));
  const putIfFare = (trip: string, fare: string, expected: string) =>
    call("PutItem", {
      Item: { trip_id: { S: trip }, sort_key: { S: "COMPLETED#1" }, fare: { N: fare } },
      ConditionExpression: "attribute_not_exists(#sk) OR #f = :f",
      ExpressionAttributeNames: { "#sk": "sort_key", "#f": "fare" },
      ExpressionAttributeValues: { ":f": { N: expected } },
    });

  test("conditions and key conditions use each request's values", async () => {
    expect((await putIfFare("t1", "10", "0")).status).toBe(200);
    expect((await putIfFare("t2", "20", "0")).status).toBe(200);
    expect((await putIfFare("t1", "11", "10")).status).toBe(200);
    const refused = await putIfFare("t2", "21", "10");
    expect(refused.body.__type).toMatch(/ConditionalCheckFailedException/);
    const fares = await Promise.all(
      ["t1", "t2"].map(async (trip) => {
        const reply = await call("Query", {
          KeyConditionExpression: "#pk = :trip",
          ExpressionAttributeNames: { "#pk": "trip_id" },
          ExpressionAttributeValues: { ":trip": { S: trip } },
        });
        return (reply.body.Items as { fare: { N: string } }[]).map((item) => item.fare.N);
      }),
    );
    expect(fares).toEqual([["11"], ["20"]]);
  });

  test("an unused value is refused on a kept expression as on a new one", async () => {
    const query = (values: Record<string, unknown>) =>
      call("Query", {
        KeyConditionExpression: "#pk = :trip",
        ExpressionAttributeNames: { "#pk": "trip_id" },
        ExpressionAttributeValues: values,
      });
    expect((await query({ ":trip": { S: "t1" } })).status).toBe(200);
    const refused = await query({ ":trip": { S: "t1" }, ":extra": { S: "x" } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/unused in expressions: keys: \{:extra\}/);
  });
});
