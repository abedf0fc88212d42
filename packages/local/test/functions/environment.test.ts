import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FUNCTION_ENV } from "@trip-pipeline/core/platform/config-names";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FailedRecord, FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { handler as kpiAggregator } from "@trip-pipeline/functions/kpi-aggregator";
import { handler as matcher } from "@trip-pipeline/functions/matcher";
import { handler as tripBegin } from "@trip-pipeline/functions/trip-begin";
import { handler as tripFinish } from "@trip-pipeline/functions/trip-finish";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { insertRecord } from "../../../core/test/support/stream-record.js";
import { type LocalServer, startLocalDynamoDb } from "../../src/dynamo.js";
import { TestTable } from "../support/test-table.js";
import { context, end, kinesisEvent, start, streamEvent } from "./support.js";

let server: LocalServer;
let table: TestTable;
const TABLE = "trip-pipeline-local-TripData";
let bucketDir: string;

// The handler modules are already imported: the contract only asks for the variables before the first call.
beforeAll(async () => {
  server = await startLocalDynamoDb();
  table = new TestTable(server.endpoint, TABLE);
  await table.create();
  bucketDir = await mkdtemp(join(tmpdir(), "bucket-"));
  Object.assign(process.env, {
    [FUNCTION_ENV.tripTable]: TABLE,
    [FUNCTION_ENV.localBucketDir]: bucketDir,
    AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_REGION: "eu-north-1",
    [FUNCTION_ENV.rawRetentionDays]: "3",
    [FUNCTION_ENV.kpiTtlDays]: "10",
  });
});
afterAll(async () => {
  table.destroy();
  await server.close();
  await rm(bucketDir, { recursive: true, force: true });
});

describe("the deployed handlers, configured only by the environment contract", () => {
  test("store raw events with the configured retention, trail invalid ones in the local folder, and complete trips", async () => {
    const before = Math.floor(Date.now() / 1000);
    expect(
      await tripBegin(kinesisEvent([start("e1", "2024-05-25 10:00:00"), start("e2", "yesterday")]), context()),
    ).toEqual({ batchItemFailures: [] });
    const [raw] = await table.items();
    const expiresAt = Number(raw!.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3 * 86_400);
    expect(expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3 * 86_400);

    const trailed: FailedRecord[] = [];
    for await (const entry of new FailedTrail(new FolderBlobStore(bucketDir)).read("start")) trailed.push(entry.record);
    expect(trailed).toEqual([expect.objectContaining({ reason: "invalid_datetime_format", field: "pickup_datetime" })]);

    await tripFinish(kinesisEvent([end("e1", "2024-05-25 10:30:00")]), context());
    const records = (await table.items()).map((item) => insertRecord(TABLE, item));
    expect(await matcher(streamEvent(records), context())).toEqual({ batchItemFailures: [] });
    expect((await table.items()).map((item) => item.sort_key)).toEqual(["COMPLETED#2024-05-25 10:00:00"]);

    // The aggregator needs only the table (no bucket variable is read) and KPI_TTL_DAYS.
    const item = (await table.items())[0]!;
    const completed = insertRecord(TABLE, item);
    completed.dynamodb!.NewImage!.fare_amount = { N: String(item.fare_amount) }; // a number on the real stream
    expect(await kpiAggregator({ ...streamEvent([completed]), shardId: "shardId-1" } as never, context())).toEqual({
      batchItemFailures: [],
      state: {},
    });
    const kpis = (await table.items()).filter((item) => String(item.trip_id) === "KPI#2024-05-25");
    // KPI_TTL_DAYS (10 here) counts from the write on the day's EXTREMES; its parts carry no expiry.
    expect(kpis.map((item) => item.sort_key)).toEqual(["EXTREMES", "SHARD#shardId-1#000001"]);
    const kpiExpiry = Number(kpis[0]!.expires_at);
    expect(kpiExpiry).toBeGreaterThanOrEqual(before + 10 * 86_400);
    expect(kpiExpiry).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 10 * 86_400);
    expect(kpis[1]!.expires_at).toBeUndefined();
  });
});
