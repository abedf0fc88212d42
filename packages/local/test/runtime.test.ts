import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import type { DynamoDBRecord, KinesisStreamRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LocalAws } from "../src/runtime.js";
import * as doubles from "./support/local-handlers.js";

const REPO_ROOT = resolve(import.meta.dirname, "..", "..", "..");
/** Longer than any drain here: the matcher's partial batch must go when the drain finds nothing moving, not when this ends. */
const MATCHER_WINDOW_MS = 60_000;
let root: string;
let aws: LocalAws;
let drainMs: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "local-aws-"));
  aws = await LocalAws.start({ root, kinesisShards: 2, streamShards: 1 });
  await aws.startConsumers({
    repoRoot: REPO_ROOT,
    handlers: { tripBegin: doubles.tripBegin, tripFinish: doubles.tripFinish, matcher: doubles.matcher },
    batchingWindowMs: 20,
    batchingWindows: { matcher: MATCHER_WINDOW_MS },
    pollIntervalMs: 5,
    retryDelayMs: 1,
  });
  const event = (event_type: string, trip_id: string, at: string) => ({
    PartitionKey: trip_id,
    Data: Buffer.from(JSON.stringify({ event_type, trip_id, at })),
  });
  await aws.kinesis.send(
    new PutRecordsCommand({
      StreamName: TRIP_STREAM.name,
      Records: [
        event("start", "a", "2024-02-29 10:00:00"),
        event("start", "b", "2024-02-29 11:00:00"),
        event("start", "poison", "2024-02-29 11:30:00"),
        event("end", "a", "2024-02-29 10:30:00"),
        event("start", "twice", "2024-02-29 12:00:00"),
        event("other", "c", "2024-02-29 13:00:00"),
        { PartitionKey: "d", Data: Buffer.from("not json") },
        event("end", "b", "2024-02-29 11:45:00"),
      ],
    }),
  );
  const drainStarted = performance.now();
  await aws.drain();
  drainMs = performance.now() - drainStarted;
});
afterAll(async () => {
  await aws?.close();
  await rm(root, { recursive: true, force: true });
});

const deliveries = (consumer: string) => doubles.recorded().events.filter((e) => e.consumer === consumer);

describe("the local AWS runtime", () => {
  test("tripBegin gets only starts; tripFinish, the catch-all without a filter, gets every record (not JSON included); as Lambda records, with the deployed handler environment", () => {
    const begin = deliveries("tripBegin").flatMap((d) => d.event.Records as KinesisStreamRecord[]);
    const finish = deliveries("tripFinish").flatMap((d) => d.event.Records as KinesisStreamRecord[]);
    const text = (r: KinesisStreamRecord) => Buffer.from(r.kinesis.data, "base64").toString();
    const decode = (r: KinesisStreamRecord) => JSON.parse(text(r)).trip_id;
    expect([...new Set(begin.map(decode))].sort()).toEqual(["a", "b", "poison", "twice"]);
    expect(finish.map(text).filter((data) => data === "not json")).toHaveLength(1);
    expect(
      finish
        .filter((r) => text(r) !== "not json")
        .map(decode)
        .sort(),
    ).toEqual(["a", "a", "b", "b", "c", "poison", "twice"]);
    const [first] = begin;
    expect(first).toMatchObject({
      eventSource: "aws:kinesis",
      eventVersion: "1.0",
      eventName: "aws:kinesis:record",
      awsRegion: "eu-north-1",
      kinesis: { kinesisSchemaVersion: "1.0" },
    });
    expect(first!.eventID).toBe(`${first!.eventID.split(":")[0]}:${first!.kinesis.sequenceNumber}`);
    expect(first!.eventSourceARN).toMatch(/^arn:aws:kinesis:eu-north-1:\d{12}:stream\/TripEventsStream$/);
    expect(typeof first!.kinesis.approximateArrivalTimestamp).toBe("number");

    const { env, context } = deliveries("tripBegin")[0]!;
    expect(env).toMatchObject({
      TRIP_TABLE_NAME: "TripData",
      TRIP_PIPELINE_LOCAL_BUCKET_DIR: aws.bucketDir,
      AWS_ENDPOINT_URL_DYNAMODB: aws.dynamodbEndpoint,
      AWS_ENDPOINT_URL_KINESIS: aws.kinesisEndpoint,
    });
    expect(env.ANALYTICS_BUCKET_NAME).toBeTruthy();
    expect(context.functionName).toBe("trip-pipeline-local-tripBegin");
  });

  test("the matcher hears every RAW insert its consumers wrote, once, and nothing else (deployed filter)", () => {
    const records = deliveries("matcher").flatMap((d) => d.event.Records as DynamoDBRecord[]);
    const keys = records.map((r) => `${r.dynamodb!.Keys!.trip_id!.S} ${r.dynamodb!.Keys!.sort_key!.S}`).sort();
    expect(keys).toEqual([
      "a RAW#END#2024-02-29 10:30:00",
      "a RAW#START#2024-02-29 10:00:00",
      "b RAW#END#2024-02-29 11:45:00",
      "b RAW#START#2024-02-29 11:00:00",
      "twice RAW#START#2024-02-29 12:00:00",
    ]);
    expect(
      records.every(
        (r) => r.eventName === "INSERT" && r.dynamodb!.StreamViewType === "NEW_AND_OLD_IMAGES" && r.dynamodb!.NewImage,
      ),
    ).toBe(true);
    // The MODIFY of "twice" and the NOTE# inserts were captured, then dropped by the filter.
    expect(aws.stats().streamRecords).toBe(11);
    expect(aws.stats().consumers.matcher).toMatchObject({ delivered: 5, filteredOut: 6, toDlq: 0 });
  });

  test("the drain does not wait out a batching window: once nothing moves, the waiting batch goes whole", () => {
    expect(drainMs).toBeLessThan(MATCHER_WINDOW_MS / 2);
    // One invocation with every RAW insert of the (one) stream shard: the window still gathered, it was only cut at the end.
    expect(deliveries("matcher").map((d) => d.event.Records.length)).toEqual([5]);
  });

  test("a batch that keeps failing is bisected down to the bad record, which goes to the bucket as Lambda's S3 destination writes it, after the deployed retries; the rest gets through", async () => {
    const stats = aws.stats();
    expect(stats.consumers.tripBegin).toMatchObject({ read: 8, filteredOut: 4, toDlq: 1, retries: 5 });
    expect(stats.consumers.tripFinish).toMatchObject({ read: 8, delivered: 8, filteredOut: 0, toDlq: 0 });
    // aws/lambda/<mapping uuid>/<shardId>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>
    const files = (await readdir(aws.dlqDir, { recursive: true })).filter((path) =>
      /^[0-9a-f-]{36}\/shardId-\d+\/\d{4}\/\d{2}\/\d{2}\/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$/.test(
        path,
      ),
    );
    expect(files).toHaveLength(1);
    const failure = JSON.parse(await readFile(join(aws.dlqDir, files[0]!), "utf8"));
    expect(failure).toMatchObject({
      requestContext: {
        condition: "RetryAttemptsExhausted",
        approximateInvokeCount: 6,
        functionArn: expect.stringContaining(":function:trip-pipeline-local-tripBegin"),
      },
      KinesisBatchInfo: { batchSize: 1 },
    });
    expect(Buffer.from(failure.payload.Records[0].kinesis.data, "base64").toString()).toContain('"poison"');
    // The good starts of the failed batches were stored (and reached the matcher) all the same.
    expect(
      deliveries("matcher")
        .flatMap((d) => d.event.Records as DynamoDBRecord[])
        .some((r) => r.dynamodb!.Keys!.trip_id!.S === "twice"),
    ).toBe(true);
  });
});
