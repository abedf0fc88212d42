/**
 * The Kinesis consumers' handler (tripBegin for starts, tripFinish for ends): decodes each
 * record, hands the batch to the core, reports exactly the records that must be retried.
 * Lambda resumes a shard from the lowest reported sequence number; every write here is an
 * idempotent overwrite of a deterministic key, so records re-delivered after it are harmless
 * and only the failed ones need naming.
 */

import type { EventType } from "@trip-pipeline/core/domain/events";
import { TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { storeRawEvents } from "@trip-pipeline/core/streams/raw-events";
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { type DepsSource, lazily } from "./environment.js";

/** `leaveTo`: for the catch-all consumer, the event types another consumer's filter takes. */
export function createTripEventHandler(kind: EventType, source: DepsSource, leaveTo: readonly EventType[] = []) {
  const deps = lazily(source);
  return async (event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> => {
    const base = await deps();
    const logger = base.logger.child({ requestId: context.awsRequestId });
    const records = event.Records;
    if (records.length === 0) return { batchItemFailures: [] };
    const result = await storeRawEvents(
      kind,
      originOf(records[0]!),
      records.map((record) => ({
        id: record.kinesis.sequenceNumber,
        data: Buffer.from(record.kinesis.data, "base64").toString("utf8"),
        arrivedAt: new Date(record.kinesis.approximateArrivalTimestamp * 1000),
      })),
      { ...base, logger },
      leaveTo,
    );
    logger.info(
      {
        records: records.length,
        stored: result.stored,
        duplicates: result.duplicates,
        rejected: result.rejected,
        skipped: result.skipped,
        failed: result.failedIds.length,
      },
      "batch processed",
    );
    return { batchItemFailures: result.failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** A batch comes from one shard: eventID is `<shardId>:<sequenceNumber>`. */
function originOf(record: KinesisStreamRecord) {
  const shardId = record.eventID.split(":")[0] || "unknown-shard";
  const stream = record.eventSourceARN.split(":stream/")[1] ?? TRIP_STREAM.name;
  return { source: `${stream}/${shardId}`, shardId };
}
