/**
 * The matcher: DynamoDB stream records of RAW inserts in, completed trips out (see the core
 * matcher for the exactly-once reasoning). Each trip named in the batch is settled once, however
 * many of its records the batch holds; a failed trip reports all of its records. Settling reads
 * the trip's current state, so order inside the batch does not matter and only failed records
 * are named (Lambda resumes from the lowest one; the rest are idempotent when re-delivered).
 */

import { readRawInsert, settleTrips } from "@trip-pipeline/core/streams/matcher";
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { type DepsSource, fromEnvironment, LAMBDA, lazily, type Platform } from "./environment.js";

export function createMatcherHandler(source: DepsSource) {
  const deps = lazily(source);
  return async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const base = await deps();
    const logger = base.logger.child({ requestId: context.awsRequestId });
    const recordsByTrip = new Map<string, string[]>();
    let skipped = 0;
    for (const record of event.Records) {
      const insert = readRawInsert(record);
      if (!insert.ok) {
        // Only RAW inserts pass the event filter; anything else carries nothing to match.
        logger.warn(
          { eventID: record.eventID, eventName: record.eventName, reason: insert.reason },
          "stream record skipped",
        );
        skipped += 1;
        continue;
      }
      recordsByTrip.set(insert.tripId, [...(recordsByTrip.get(insert.tripId) ?? []), insert.sequenceNumber]);
    }
    const { failedTrips, counts } = await settleTrips([...recordsByTrip.keys()], { ...base, logger });
    const failed = [...failedTrips].flatMap((tripId) => recordsByTrip.get(tripId) ?? []);
    logger.info(
      { records: event.Records.length, trips: recordsByTrip.size, skipped, ...counts, failed_records: failed.length },
      "batch processed",
    );
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

export function handlerFor(platform: Platform) {
  return createMatcherHandler(fromEnvironment("matcher", platform));
}

export const handler = handlerFor(LAMBDA);
