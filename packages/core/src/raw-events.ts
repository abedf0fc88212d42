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
import type { RetryPolicy, WriteRequest } from "./batch.js";
import { keyOfRequest } from "./batch.js";
import { formatDateTime } from "./datetime.js";
import { parseWireEvent, type EventType, type Rejection, type TripEvent } from "./events.js";
import type { FailedRecord, FailedTrail } from "./failed-trail.js";
import type { Logger } from "./logger.js";
import type { TripStore } from "./trip-store.js";

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
}

export interface RawBatchResult {
  /** Ids of the records to report in batchItemFailures. */
  failedIds: string[];
  stored: number;
  duplicates: number;
  rejected: number;
}

const SECONDS_PER_DAY = 86_400;

export interface RecordOrigin {
  /** Recorded with each trailed record, e.g. `TripEventsStream/shardId-000000000000`. */
  source: string;
  /** Names the trail object with the first and last rejected sequence numbers. */
  shardId: string;
}

export async function storeRawEvents(kind: EventType, origin: RecordOrigin, records: readonly IncomingRecord[], deps: RawEventDeps): Promise<RawBatchResult> {
  const now = deps.now();
  const expiresAt = Math.floor(now.getTime() / 1000) + deps.rawRetentionDays * SECONDS_PER_DAY;
  const rejected: FailedRecord[] = [];
  const rejectedIds: string[] = [];
  const byKey = new Map<string, { request: WriteRequest; ids: string[] }>();

  for (const record of records) {
    const result = checkEvent(kind, record.data);
    if (!result.ok) {
      const { code, field, message } = result.rejection;
      deps.logger.warn({ sequence_number: record.id, reason: code, field, detail: message }, "event rejected");
      rejected.push({ source: origin.source, sequence_number: record.id, raw: record.data, reason: code, ...(field && { field }), message, failed_at: formatDateTime(now) });
      rejectedIds.push(record.id);
      continue;
    }
    const request = deps.store.rawPut(result.value, expiresAt);
    const key = keyOfRequest(request);
    // The same key is the same event (values included): one put for all its copies.
    byKey.set(key, { request, ids: [...(byKey.get(key)?.ids ?? []), record.id] });
  }

  const idsByKey = new Map([...byKey].map(([key, entry]) => [key, entry.ids]));
  const [trailed, writeFailures] = await Promise.all([
    // Named by the rejected records only: a retry from a later checkpoint rewrites the same object.
    writeTrail(deps, kind, `${origin.shardId}-${rejectedIds[0]}-${rejectedIds.at(-1)}`, rejected),
    deps.store.writeAll([...byKey.values()].map((entry) => entry.request), deps.retry),
  ]);

  const failedIds = new Set<string>(trailed ? [] : rejectedIds);
  for (const failure of writeFailures) {
    const ids = idsByKey.get(keyOfRequest(failure.request)) ?? [];
    deps.logger.warn({ sequence_numbers: ids, reason: failure.reason }, "raw write failed; reported for retry");
    for (const id of ids) failedIds.add(id);
  }
  return {
    failedIds: records.map((record) => record.id).filter((id) => failedIds.has(id)),
    stored: byKey.size - writeFailures.length,
    duplicates: records.length - rejected.length - byKey.size,
    rejected: rejected.length,
  };
}

/** The consumer's event filter lets only its own kind through; anything else is a routing error, trailed like any invalid event. */
function checkEvent(kind: EventType, data: string): { ok: true; value: TripEvent } | { ok: false; rejection: Rejection } {
  const result = parseWireEvent(data);
  if (result.ok && result.value.event_type !== kind)
    return { ok: false, rejection: { code: "invalid_event_type", field: "event_type", message: `event_type "${result.value.event_type}" reached the "${kind}" consumer` } };
  return result;
}

/**
 * Writes one failed-trail object; false (and a log line) when the store is unavailable, so the
 * invalid records are retried rather than lost. The id is deterministic for these records.
 */
async function writeTrail(deps: Pick<RawEventDeps, "trail" | "logger">, kind: EventType, batchId: string, records: FailedRecord[]): Promise<boolean> {
  try {
    await deps.trail.write(kind, batchId, records);
    return true;
  } catch (error) {
    deps.logger.error({ err: error, kind, batchId }, "failed trail write failed; records reported for retry");
    return false;
  }
}
