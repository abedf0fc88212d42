/**
 * Redrive's replay event and checkpoint, against failed batches as Lambda's S3 on-failure
 * destination writes them (the embedded runtime's end-to-end case is in packages/local/test).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createLogger } from "../src/platform/logger.js";
import { FAILED_BATCH_PREFIX } from "../src/platform/pipeline-spec.js";
import { FolderBlobStore } from "../src/store/blob-store.js";
import { type ReplayEvent, redrive } from "../src/streams/redrive.js";

const logger = createLogger("redrive-test");
const STREAM = "arn:aws:dynamodb:eu-north-1:000000000000:table/TripData/stream/2024-03-01T00:00:00.000";
const FUNCTION = "arn:aws:lambda:eu-north-1:000000000000:function:trip-pipeline-local-kpiAggregator";
/** 41-, 41- and 42-digit sequence numbers: ordered by value, not as text. */
const SEQ = [
  "99999999999999999999999999999999999999998",
  "99999999999999999999999999999999999999999",
  "100000000000000000000000000000000000000000",
];
const KEY = `${FAILED_BATCH_PREFIX}uuid/shardId-00000000000000000003-local/2024/03/01/2024-03-01T10.00.00-id`;

let store: FolderBlobStore;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "redrive-core-"));
  store = new FolderBlobStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A DDB stream batch as Lambda records it, its records in the given order. */
function failedBatch(
  sequenceNumbers: string[],
  arrivals: { first?: string; last?: string } = { first: "2024-03-01T09:58:00.000Z", last: "2024-03-01T09:59:30.000Z" },
) {
  return {
    requestContext: {
      requestId: "r",
      functionArn: FUNCTION,
      condition: "RetryAttemptsExhausted",
      approximateInvokeCount: 11,
    },
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
    version: "1.0",
    timestamp: "2024-03-01T10:00:00.000Z",
    DDBStreamBatchInfo: {
      shardId: "shardId-00000000000000000003-local",
      startSequenceNumber: SEQ[0],
      endSequenceNumber: SEQ[2],
      ...(arrivals.first && { approximateArrivalOfFirstRecord: arrivals.first }),
      ...(arrivals.last && { approximateArrivalOfLastRecord: arrivals.last }),
      batchSize: sequenceNumbers.length,
      streamArn: STREAM,
    },
    payload: {
      Records: sequenceNumbers.map((SequenceNumber) => ({ eventName: "INSERT", dynamodb: { SequenceNumber } })),
    },
  };
}

async function replay(batch: object, respond: (event: ReplayEvent) => unknown) {
  await store.put(KEY, JSON.stringify(batch));
  const events: ReplayEvent[] = [];
  const report = await redrive({
    store,
    logger,
    invoker: {
      invoke: async (_, event) => {
        events.push(event);
        return respond(event);
      },
    },
  });
  return { report, events };
}

describe("redrive", () => {
  test("the replay carries what a tumbling-window mapping gives: shard, stream, the records' window, an empty state", async () => {
    const { report, events } = await replay(failedBatch(SEQ), () => ({ batchItemFailures: [], state: {} }));
    expect(report.totals).toMatchObject({ replayed: 3, remaining: 0 });
    expect(events).toEqual([
      {
        Records: failedBatch(SEQ).payload.Records,
        shardId: "shardId-00000000000000000003-local",
        eventSourceARN: STREAM,
        window: { start: "2024-03-01T09:58:00.000Z", end: "2024-03-01T09:59:30.000Z" },
        state: {},
        isFinalInvokeForWindow: false,
        isWindowTerminatedEarly: false,
      },
    ]);
  });

  test("without arrival times in the batch info the window is the failure's time", async () => {
    const { events } = await replay(failedBatch(SEQ, {}), () => null);
    expect(events[0]!.window).toEqual({ start: "2024-03-01T10:00:00.000Z", end: "2024-03-01T10:00:00.000Z" });
  });

  test("a partial failure keeps the records at or after the lowest reported sequence number, by value, wherever they are in the batch", async () => {
    const shuffledOrder = [SEQ[2]!, SEQ[0]!, SEQ[1]!];
    const { report } = await replay(failedBatch(shuffledOrder), () => ({
      batchItemFailures: [{ itemIdentifier: SEQ[2] }, { itemIdentifier: SEQ[1] }],
    }));
    expect(report.batches[0]).toMatchObject({ outcome: "partially_replayed", replayed: 1, remaining: 2 });
    const kept = JSON.parse((await store.get(KEY))!) as ReturnType<typeof failedBatch>;
    expect(kept.payload.Records.map((r) => r.dynamodb.SequenceNumber)).toEqual([SEQ[2], SEQ[1]]);
  });

  test("an unknown itemIdentifier keeps the batch whole", async () => {
    const { report } = await replay(failedBatch(SEQ), () => ({ batchItemFailures: [{ itemIdentifier: "7" }] }));
    expect(report.batches[0]).toMatchObject({ outcome: "failed", replayed: 0, remaining: 3 });
    expect(JSON.parse((await store.get(KEY))!)).toEqual(failedBatch(SEQ));
  });
});
