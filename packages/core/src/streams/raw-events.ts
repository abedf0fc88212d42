/**
 * What the stream consumers (tripBegin, tripFinish) do with a batch: validate each event, trail
 * the invalid ones with their reason (never retried: they would fail the same way forever) and
 * store the valid ones as raw items with batched writes. Only transient failures come back, as
 * the ids of exactly the records behind them, for the handler's batchItemFailures.
 *
 * Every distinct event is kept: the raw key is the instant plus a digest of the values, so a
 * duplicate rewrites its own item and an event of the same instant with other values gets its
 * own; `matchTrip` decides between them (same-instant rule in trip.ts), whatever the order.
 */

import { formatDateTime } from "../domain/datetime.js";
import {
  decodeWireObject,
  type EventType,
  type Rejection,
  type TripEvent,
  type Validated,
  validateWireObject,
} from "../domain/events.js";
import { mapWithConcurrency } from "../platform/concurrency.js";
import type { Logger } from "../platform/logger.js";
import { matchesEventTypeFilter } from "../platform/pipeline-spec.js";
import type { RetryPolicy } from "../platform/retry.js";
import type { FailedRecord, FailedTrail } from "../store/failed-trail.js";
import type { TripStore } from "../store/trip-store.js";
import { keyOfRequest, type WriteRequest } from "../store/write-request.js";

export interface RawEventDeps {
  store: TripStore;
  trail: FailedTrail;
  logger: Logger;
  now: () => Date;
  retry: RetryPolicy;
  /** RAW items expire this many days after they are written (DynamoDB TTL). */
  rawRetentionDays: number;
}

export interface IncomingRecord {
  /** The stream sequence number: unique in the batch, increasing in stream order. */
  id: string;
  /** The decoded record data, exactly as produced. */
  data: string;
  /** When the stream took the record: part of its identity, so it names the record's trail object. */
  arrivedAt: Date;
}

export interface RawBatchResult {
  /** Ids of the records to report in batchItemFailures. */
  failedIds: string[];
  stored: number;
  duplicates: number;
  /** Trailed: invalid, or refused by DynamoDB (store_rejected). */
  rejected: number;
  /** Left to another consumer: its event filter takes them (see `filters` and `leaveTo` in pipeline-spec's CONSUMERS). */
  skipped: number;
}

const SECONDS_PER_DAY = 86_400;
/** Trail objects written at once (one per rejected record; rejections are rare). */
const TRAIL_CONCURRENCY = 8;

export interface RecordOrigin {
  /** Recorded with each trailed record, e.g. `TripEventsStream/shardId-000000000000`. */
  source: string;
  /** With the sequence number, names the trail object of a rejected record. */
  shardId: string;
}

/**
 * `kind`: the events this consumer stores. `leaveTo`: event types another consumer's filter
 * takes (this consumer is the stream's catch-all); records of those types are left alone here,
 * every other record is stored or trailed, so each record ends in exactly one place.
 */
export async function storeRawEvents(
  kind: EventType,
  origin: RecordOrigin,
  records: readonly IncomingRecord[],
  deps: RawEventDeps,
  leaveTo: readonly EventType[] = [],
): Promise<RawBatchResult> {
  const now = deps.now();
  const expiresAt = Math.floor(now.getTime() / 1000) + deps.rawRetentionDays * SECONDS_PER_DAY;
  const rejected: { record: IncomingRecord; rejection: Rejection }[] = [];
  const byKey = new Map<string, { request: WriteRequest; records: IncomingRecord[] }>();
  let skipped = 0;

  for (const record of records) {
    const result = checkEvent(kind, record.data, leaveTo);
    if (result === "skip") {
      skipped += 1;
      continue;
    }
    if (!result.ok) {
      rejected.push({ record, rejection: result.rejection });
      continue;
    }
    const request = deps.store.rawPut(result.value, expiresAt);
    const key = keyOfRequest(request);
    // The same key is the same event (values included): one put for all its copies.
    byKey.set(key, { request, records: [...(byKey.get(key)?.records ?? []), record] });
  }

  const writeFailures = await deps.store.writeAll(
    [...byKey.values()].map((entry) => entry.request),
    deps.retry,
  );
  const failedIds = new Set<string>();
  let failedKeys = 0;
  for (const failure of writeFailures) {
    const key = keyOfRequest(failure.request);
    const behind = byKey.get(key)?.records ?? [];
    if (failure.rejected) {
      // DynamoDB refused this item's content: no retry can store it, so it is trailed and handled.
      deps.logger.warn(
        { sequence_numbers: behind.map((record) => record.id), reason: failure.reason },
        "raw write refused by DynamoDB; trailed as store_rejected",
      );
      byKey.delete(key);
      for (const record of behind)
        rejected.push({ record, rejection: { code: "store_rejected", message: failure.reason } });
      continue;
    }
    deps.logger.warn(
      { sequence_numbers: behind.map((record) => record.id), reason: failure.reason },
      "raw write failed; reported for retry",
    );
    for (const record of behind) failedIds.add(record.id);
    failedKeys += 1;
  }

  const untrailed = await trailRejected(kind, origin, rejected, formatDateTime(now), deps);
  for (const id of untrailed) failedIds.add(id);
  return {
    failedIds: records.map((record) => record.id).filter((id) => failedIds.has(id)),
    stored: byKey.size - failedKeys,
    duplicates: [...byKey.values()].reduce((sum, entry) => sum + entry.records.length - 1, 0),
    rejected: rejected.length,
    skipped,
  };
}

/**
 * A filtered consumer sees only its own kind; the catch-all sees every record and leaves the
 * ones another consumer's filter takes. Anything else of the wrong kind is a routing error,
 * trailed like any invalid event.
 */
function checkEvent(kind: EventType, data: string, leaveTo: readonly EventType[]): Validated<TripEvent> | "skip" {
  const decoded = decodeWireObject(data);
  if (!decoded.ok) return decoded;
  if (leaveTo.some((other) => matchesEventTypeFilter(other, decoded.value))) return "skip";
  const result = validateWireObject(decoded.value);
  if (result.ok && result.value.event_type !== kind)
    return {
      ok: false,
      rejection: {
        code: "invalid_event_type",
        field: "event_type",
        message: `event_type "${result.value.event_type}" reached the "${kind}" consumer`,
      },
    };
  return result;
}

/**
 * Trails each rejected record in its own object, named by the record's identity (arrival day,
 * shard, sequence number): a retried or re-split batch rewrites the same objects, never adds
 * copies. Returns the ids whose object could not be written (the store is unavailable), to be
 * retried rather than lost.
 */
async function trailRejected(
  kind: EventType,
  origin: RecordOrigin,
  rejected: readonly { record: IncomingRecord; rejection: Rejection }[],
  failedAt: string,
  deps: Pick<RawEventDeps, "trail" | "logger">,
): Promise<string[]> {
  const outcomes = await mapWithConcurrency(
    rejected,
    TRAIL_CONCURRENCY,
    async ({ record, rejection: { code, field, message } }) => {
      deps.logger.warn({ sequence_number: record.id, reason: code, field, detail: message }, "event rejected");
      const failed: FailedRecord = {
        source: origin.source,
        sequence_number: record.id,
        raw: record.data,
        reason: code,
        ...(field && { field }),
        message,
        failed_at: failedAt,
      };
      try {
        await deps.trail.write(
          kind,
          `${origin.shardId}-${record.id}`,
          [failed],
          formatDateTime(record.arrivedAt).slice(0, 10),
        );
        return undefined;
      } catch (error) {
        deps.logger.error(
          { err: error, kind, sequence_number: record.id },
          "failed trail write failed; record reported for retry",
        );
        return record.id;
      }
    },
  );
  return outcomes.filter((id): id is string => id !== undefined);
}
