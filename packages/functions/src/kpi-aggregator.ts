/**
 * kpiAggregator: COMPLETED# changes from the table's stream in, live KPIs out (see the core
 * aggregator for the exactly-once reasoning). The mapping has a tumbling window only so that
 * Lambda names the batch's shard in `event.shardId` (`pnpm redrive` names it too); the window's
 * state is not used (returned empty, as Lambda requires a state in every response of a windowed
 * mapping).
 */

import {
  applyKpiDelivery,
  type KpiAggregatorDeps,
  type KpiChange,
  readKpiRecord,
} from "@trip-pipeline/core/live/aggregator";
import { spanOf } from "@trip-pipeline/core/streams/sequence-ranges";
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { type DepsSource, kpiAggregatorFromEnvironment, LAMBDA, lazily, type Platform } from "./environment.js";

/** A DynamoDB stream event of a mapping with a tumbling window. */
export type WindowedStreamEvent = DynamoDBStreamEvent & { shardId?: string; isFinalInvokeForWindow?: boolean };
export type WindowedStreamResponse = DynamoDBBatchResponse & { state: Record<string, string> };

export function createKpiAggregatorHandler(source: DepsSource<KpiAggregatorDeps>) {
  const deps = lazily(source);
  return async (event: WindowedStreamEvent, context: Context): Promise<WindowedStreamResponse> => {
    const base = await deps();
    const logger = base.logger.child({ requestId: context.awsRequestId });
    // The window's closing invocation may carry no records.
    if (event.Records.length === 0) return { batchItemFailures: [], state: {} };
    if (!event.shardId)
      throw new Error(
        "event without shardId: the kpiAggregator mapping needs a tumbling window (and a replay, the failed batch's shardId)",
      );
    const changes: KpiChange[] = [];
    const expiredDays: string[] = [];
    let skipped = 0;
    for (const record of event.Records) {
      const read = readKpiRecord(record);
      if (read.kind === "change") changes.push(read.change);
      else if (read.kind === "day_expired") expiredDays.push(read.date);
      else {
        // Nothing in it can be counted, now or on a retry; the nightly reconciliation shows the day.
        logger.error(
          { eventID: record.eventID, eventName: record.eventName, reason: read.reason },
          "stream record skipped",
        );
        skipped += 1;
      }
    }
    // The span covers every record delivered, counted or not: all of them are done with after this call.
    const span = spanOf(
      event.Records.map((record) => record.dynamodb?.SequenceNumber ?? "").filter((sequence) => /^\d+$/.test(sequence)),
    );
    const result = await applyKpiDelivery({ shardId: event.shardId, span, changes, expiredDays }, { ...base, logger });
    const { failedFrom, ...counts } = result;
    logger.info(
      {
        records: event.Records.length,
        shardId: event.shardId,
        skipped,
        expired_days: expiredDays.length,
        ...counts,
        failed_from: failedFrom ?? null,
      },
      "batch processed",
    );
    return { batchItemFailures: failedFrom ? [{ itemIdentifier: failedFrom }] : [], state: {} };
  };
}

export function handlerFor(platform: Platform) {
  return createKpiAggregatorHandler(kpiAggregatorFromEnvironment(platform));
}

export const handler = handlerFor(LAMBDA);
