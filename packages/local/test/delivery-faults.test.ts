/**
 * The local AWS's delivery faults on real emulators and the deployed handlers (or recording
 * doubles): a consumer's outage and its redrive, and rolling stream shards.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { encodeWireEvent, type TripEvent } from "@trip-pipeline/core/domain/events";
import { liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { FAILED_BATCH_PREFIX, TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import type { KinesisStreamRecord } from "aws-lambda";
import { afterEach, describe, expect, test } from "vitest";
import { runLocalKpiJob } from "../src/kpi-job.js";
import { type ConsumerOptions, LocalAws, type LocalAwsOptions } from "../src/runtime.js";
import { childShardId } from "../src/shard-rollover.js";
import * as doubles from "./support/local-handlers.js";

const REPO_ROOT = resolve(import.meta.dirname, "..", "..", "..");
let root: string | undefined;
let aws: LocalAws | undefined;

afterEach(async () => {
  await aws?.close();
  if (root) await rm(root, { recursive: true, force: true });
  aws = root = undefined;
});

async function localAws(
  options: Omit<LocalAwsOptions, "root">,
  consumers: Omit<ConsumerOptions, "repoRoot">,
): Promise<LocalAws> {
  root = await mkdtemp(join(tmpdir(), "delivery-"));
  aws = await LocalAws.start({ root, kinesisShards: 1, ...options });
  await aws.startConsumers({
    repoRoot: REPO_ROOT,
    batchingWindowMs: 20,
    pollIntervalMs: 5,
    retryDelayMs: 1,
    ...consumers,
  });
  return aws;
}

async function put(aws: LocalAws, events: TripEvent[]): Promise<void> {
  await aws.kinesis.send(
    new PutRecordsCommand({
      StreamName: TRIP_STREAM.name,
      Records: events.map((event) => ({ PartitionKey: event.trip_id, Data: Buffer.from(encodeWireEvent(event)) })),
    }),
  );
}

async function itemsOf(aws: LocalAws, tripId: string): Promise<string[]> {
  const { Items = [] } = await aws.db.send(
    new QueryCommand({
      TableName: aws.tableName,
      KeyConditionExpression: "trip_id = :t",
      ExpressionAttributeValues: { ":t": tripId },
    }),
  );
  return Items.map((item) => String(item.sort_key)).sort();
}

async function failedBatches(aws: LocalAws) {
  const store = new FolderBlobStore(aws.bucketDir);
  const keys = await store.list(FAILED_BATCH_PREFIX);
  return Promise.all(
    keys.map(async (key) => ({
      key,
      ...(JSON.parse((await store.get(key))!) as {
        DDBStreamBatchInfo?: { shardId: string };
        KinesisBatchInfo?: { shardId: string };
      }),
    })),
  );
}

const trip = (id: string, hour: number): TripEvent[] => [
  { event_type: "start", trip_id: id, pickup_datetime: `2024-03-01 ${hour}:00:00`, estimated_fare_amount: "10.00" },
  { event_type: "end", trip_id: id, dropoff_datetime: `2024-03-01 ${hour}:30:00`, fare_amount: "12.00" },
];

describe("an outage, then redrive", () => {
  test("the function's batch exhausts its retries into the store before it recovers; redrive replays it through the same handler and the trip completes", async () => {
    const aws = await localAws({}, { outage: { consumer: "tripBegin", until: () => true }, reorder: { seed: 5 } });
    await put(aws, [...trip("r1", 10), ...trip("r2", 11)]);
    await aws.drain();
    // One batch of both starts, bisected: r1 alone failed every retry, then the function was back for r2.
    expect(aws.stats().consumers.tripBegin).toMatchObject({ toDlq: 1, retries: 5, bisections: 1 });
    expect(await itemsOf(aws, "r1")).toEqual([expect.stringMatching(/^RAW#END#/)]);
    expect(await itemsOf(aws, "r2")).toEqual(["COMPLETED#2024-03-01 11:00:00"]);

    const report = await aws.redrive();
    expect(report.totals).toMatchObject({ batches: 1, records: 1, replayed: 1, remaining: 0, failedBatches: 0 });
    await aws.drain();
    expect(await itemsOf(aws, "r1")).toEqual(["COMPLETED#2024-03-01 10:00:00"]);
    expect((await aws.redrive({ dryRun: true })).totals).toMatchObject({ batches: 0, remaining: 0 });
  });

  test("the live KPI aggregator's failed batch is accepted on replay: it carries the shard id its handler needs", async () => {
    const aws = await localAws({}, { outage: { consumer: "kpiAggregator", until: () => true } });
    await put(aws, trip("k1", 10));
    await aws.drain();
    expect(aws.stats().consumers.kpiAggregator!.toDlq).toBe(1);
    const [failed] = await failedBatches(aws);
    const report = await aws.redrive();
    expect(report.batches).toEqual([
      expect.objectContaining({ outcome: "replayed", shardId: failed!.DDBStreamBatchInfo!.shardId, replayed: 1 }),
    ]);
  });

  test("pnpm redrive of the aggregator's failed batches, after a later trip of the same day was counted: live equals nightly", async () => {
    let back = false;
    const aws = await localAws({}, { outage: { consumer: "kpiAggregator", until: () => back } });
    const fare = (events: TripEvent[], amount: string) =>
      events.map((event) => (event.event_type === "end" ? { ...event, fare_amount: amount } : event));
    await put(aws, [...fare(trip("d1", 10), "10.00"), ...fare(trip("d2", 11), "20.00")]);
    await aws.drain();
    expect(aws.stats().consumers.kpiAggregator!.toDlq).toBeGreaterThan(0);
    back = true;
    await put(aws, fare(trip("d3", 12), "30.00"));
    await aws.drain();
    const live = () => liveKpis(aws.db, aws.tableName, "2024-03-01", new Date());
    expect(await live()).toMatchObject({ trip_count: 1, total_fare: "30.00" });

    expect((await aws.redrive()).totals).toMatchObject({ remaining: 0, failedBatches: 0 });
    await aws.drain();
    const { kpis } = await runLocalKpiJob(aws.db, aws.tableName, new FolderBlobStore(aws.bucketDir));
    expect(kpis).toMatchObject([
      {
        pickup_date: "2024-03-01",
        total_fare: "60.00",
        trip_count: 3,
        average_fare: "20.00",
        max_fare: "30.00",
        min_fare: "10.00",
        median_fare: "20.00",
      },
    ]);
    const { median_fare: _nightlyOnly, ...liveFigures } = kpis[0]!;
    expect(await live()).toMatchObject({ ...liveFigures, settling: false });
    // A second redrive finds nothing, and replaying the moved batches again would count nothing twice.
    expect((await aws.redrive({ dryRun: true })).totals).toMatchObject({ batches: 0 });
  });

  test("an outage lasts until its end condition holds", async () => {
    let ingested = false;
    const aws = await localAws({}, { outage: { consumer: "tripBegin", until: () => ingested } });
    await put(aws, [...trip("o1", 10), ...trip("o2", 11)]);
    await aws.drain();
    expect(aws.stats().consumers.tripBegin!.toDlq).toBe(2);
    ingested = true;
    await put(aws, trip("o3", 12));
    await aws.drain();
    expect(await itemsOf(aws, "o3")).toEqual(["COMPLETED#2024-03-01 12:00:00"]);
  });
});

describe("shard rollover", () => {
  test("Kinesis and table stream shards close after N records; children with new ids continue, sequence numbers increasing; failed batches name the child", async () => {
    doubles.recorded().events.length = 0;
    const aws = await localAws(
      { shardRollover: 3 },
      { handlers: { tripBegin: doubles.tripBegin, tripFinish: doubles.tripFinish, matcher: doubles.outage } },
    );
    await put(
      aws,
      Array.from({ length: 8 }, (_, i) => trip(`s${i}`, 10 + i)[0]!),
    );
    await aws.drain();

    const batches = doubles
      .recorded()
      .events.filter((e) => e.consumer === "tripBegin")
      .map((e) => (e.event.Records as KinesisStreamRecord[]).map((r) => r.eventID));
    for (const ids of batches) expect(new Set(ids.map((id) => id.split(":")[0])).size).toBe(1);
    const ids = batches.flat();
    expect(ids.map((id) => id.split(":")[0])).toEqual([
      ...Array(3).fill("shardId-000000000000"),
      ...Array(3).fill("shardId-000000000001"),
      ...Array(2).fill("shardId-000000000002"),
    ]);
    const sequenceNumbers = ids.map((id) => BigInt(id.split(":")[1]!));
    expect(sequenceNumbers).toEqual([...sequenceNumbers].sort((a, b) => (a < b ? -1 : 1)));

    // The matcher failed everything: its failed batches name the table stream's shards, children among them.
    const roots = aws.changes.shards.map((shard) => shard.shardId);
    const failed = await failedBatches(aws);
    expect(failed).toHaveLength(8);
    for (const batch of failed) {
      const shardId = batch.DDBStreamBatchInfo!.shardId;
      expect(roots.some((parent) => [0, 1, 2, 3].some((g) => childShardId(parent, g, roots.length) === shardId))).toBe(
        true,
      );
      expect(batch.key).toContain(`/${shardId}/`);
    }
    expect(failed.some((batch) => !roots.includes(batch.DDBStreamBatchInfo!.shardId))).toBe(true);
  });
});
