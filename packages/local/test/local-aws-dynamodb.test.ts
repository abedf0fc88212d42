/** The DynamoDB behaviours as model tests use them: LocalAws options, served in the emulator thread. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LocalAws } from "../src/runtime.js";

const TABLE = TRIP_TABLE.name;
const DAY_MS = 24 * 3600 * 1000;
// Long enough that the writes and reads right after them stay inside it on a loaded machine.
const LAG_MS = 1_500;
const nowSeconds = () => Math.floor(Date.now() / 1000);
let root: string;
let aws: LocalAws;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "local-aws-dynamodb-"));
  aws = await LocalAws.start({
    root,
    kinesisShards: 1,
    streamShards: 2,
    ttl: {},
    gsiLagMs: LAG_MS,
    tornReads: { seed: 3 },
  });
});
afterAll(async () => {
  await aws?.close();
  await rm(root, { recursive: true, force: true });
});

describe("DynamoDB behaviours of the local AWS", () => {
  test("advanceTtlClock sweeps in the emulator thread: the REMOVE records are on the stream when it resolves, counted like any change", async () => {
    const item = (trip: string, sort_key: string, days: number) => ({
      trip_id: trip,
      sort_key,
      expires_at: nowSeconds() + days * 24 * 3600,
    });
    await aws.db.send(new PutCommand({ TableName: TABLE, Item: item("t1", "RAW#START#2024-02-29 10:00:00", 7) }));
    await aws.db.send(new PutCommand({ TableName: TABLE, Item: item("KPI#2024-02-29", "SHARD#00", 35) }));
    const before = aws.stats().changesByKind;

    expect(await aws.advanceTtlClock(10 * DAY_MS)).toBe(1);
    const stats = aws.stats();
    expect(stats.ttlDeletes).toBe(1);
    expect(stats.changesByKind).toEqual({ ...before, RAW: (before.RAW ?? 0) + 1 });
    const removes = aws.changes.shards.flatMap((shard) => shard.records).filter((r) => r.eventName === "REMOVE");
    expect(removes).toMatchObject([
      {
        userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" },
        dynamodb: { Keys: { trip_id: { S: "t1" } } },
      },
    ]);
    expect(
      (
        await aws.db.send(
          new GetCommand({ TableName: TABLE, Key: { trip_id: "KPI#2024-02-29", sort_key: "SHARD#00" } }),
        )
      ).Item,
    ).toBeDefined();
  });

  test("index reads lag until indexesCaughtUp; base-table Queries come in small pages", async () => {
    for (const sk of ["COMPLETED#a", "COMPLETED#b", "COMPLETED#c"])
      await aws.db.send(
        new PutCommand({ TableName: TABLE, Item: { trip_id: "lagged", sort_key: sk, gsi1pk: "DAY#1", gsi1sk: sk } }),
      );
    const byDay = () =>
      aws.db.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: TRIP_TABLE.completedByDay.name,
          KeyConditionExpression: "gsi1pk = :d",
          ExpressionAttributeValues: { ":d": "DAY#1" },
        }),
      );
    expect((await byDay()).Items).toEqual([]);
    await aws.indexesCaughtUp();
    expect((await byDay()).Items).toHaveLength(3);

    const page = await aws.db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "trip_id = :t",
        ExpressionAttributeValues: { ":t": "lagged" },
        ConsistentRead: true,
      }),
    );
    expect(page.Items!.length).toBeLessThanOrEqual(2);
    expect(page.LastEvaluatedKey).toBeDefined();
  });

  test("advanceTtlClock without the ttl option is an error, not a silent no-op", async () => {
    const plain = await LocalAws.start({ root: join(root, "plain"), kinesisShards: 1 });
    try {
      expect(() => plain.advanceTtlClock(1000)).toThrow(/ttl option/);
    } finally {
      await plain.close();
    }
  });

  test("onDisk keeps the table and the Kinesis stream in LevelDB folders of the run (writes, reads, the table's stream as in memory); close removes them", async () => {
    const onDisk = await LocalAws.start({ root: join(root, "disk"), kinesisShards: 1, onDisk: true });
    const [tableDir, streamDir] = [join(root, "disk", "table"), join(root, "disk", "stream")];
    try {
      const Item = { trip_id: "disk-1", sort_key: "RAW#START#2024-02-29 10:00:00", fare: "12.50" };
      await onDisk.db.send(new PutCommand({ TableName: TABLE, Item }));
      expect(
        (
          await onDisk.db.send(
            new GetCommand({ TableName: TABLE, Key: { trip_id: "disk-1", sort_key: Item.sort_key } }),
          )
        ).Item,
      ).toEqual(Item);
      expect(onDisk.stats().streamRecords).toBe(1);
      for (const dir of [tableDir, streamDir]) expect(await readdir(dir)).toContain("CURRENT");
    } finally {
      await onDisk.close();
    }
    for (const dir of [tableDir, streamDir]) await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
