/**
 * The matcher: keeps each trip's COMPLETED item equal to what the rule (trip.ts) gives for the
 * SET of the trip's valid events, whatever their arrival order, batching, duplication, retries,
 * crashes, or matchers running at once. Called with the trips named by a batch of RAW inserts.
 *
 * Why the property holds (no transactions):
 * 1. Nothing is forgotten that the rule could need. The trip's knowledge is its raw items plus
 *    the (start, end) pair on each COMPLETED item. Each settle reads it whole (one strongly
 *    consistent Query), re-runs the rule on it and only ever deletes what `essentialEvents`
 *    drops (dominated by an event that stays known) or what the target COMPLETED now holds.
 *    So raw ends before the chosen pickup stay until TTL (an earlier start can make them win);
 *    everything else goes.
 *    A Query is not a snapshot: items are read one after another, each as of its own instant,
 *    in pages. Knowledge only ever moves DOWN the key order, the new holder written before the
 *    old one is deleted: raw items (RAW#START# > RAW#END#) fold into COMPLETED# (the lowest
 *    prefix), and a later pickup's COMPLETED into the earliest pickup's (lower key). readTrip
 *    reads in descending key order, so of any move it sees the old holder (read first, before
 *    the delete) or the new one (read last, after the create), possibly both: never neither.
 *    What a torn view holds is then a set of real events of the trip that contains every one
 *    the rule needs; extra dominated ones change nothing. Creates and replaces are conditional
 *    on the very item read, so a stale view can only fail them (and re-read), never overwrite.
 * 2. Every event that can change the result is a RAW insert, so it triggers a settle: each
 *    distinct event has its own raw key (instant + digest of values), and a duplicate of an
 *    event already folded into COMPLETED is inserted again (and deleted again as a replay).
 * 3. Writes move the COMPLETED item only towards the rule's result, target first, deletes
 *    after: a new pickup means a new key, created (attribute_not_exists) BEFORE the old item
 *    and the raw items are deleted; a new end (or a same-instant smaller start) for the same
 *    pickup replaces the item conditionally on the exact values read, so a concurrent change
 *    makes the write fail and the settle starts over from a new read.
 * 4. A create may come from a stale view (the trip moved to an earlier pickup since the read),
 *    and nothing would ever trigger a settle for it. So every create is followed by a re-read
 *    and a new round: of two creators the last re-read sees both items and removes the later.
 * 5. A crash between any two writes leaves the stream record unacknowledged; the retry reads
 *    the state left behind, which by 1 and 3 still knows every needed event, and converges.
 *    Deletes are idempotent. Meanwhile a trip may have two COMPLETED items for a moment: every
 *    KPI reader counts one per trip, the earliest pickup, which is always the target's.
 *
 * Stream records a settle produces on COMPLETED# (for consumers of the table's stream):
 * - first completion: INSERT of COMPLETED#<pickup>;
 * - same pickup, other end (or a same-instant start with smaller values): one MODIFY, with the
 *   old and new images;
 * - earlier pickup: INSERT of COMPLETED#<new pickup>, then REMOVE of COMPLETED#<old pickup>
 *   (the new pickup is always the earlier one);
 * - a stale create (point 4): INSERT of a later pickup, soon followed by its REMOVE.
 * Nothing else: the matcher never writes an item that is unchanged.
 *
 * Anomalies (ends, none at or after the chosen pickup) are one object per trip,
 * `failed/anomalies/anomaly-<trip_id>.jsonl`, written and warned about only when new or
 * changed, then re-read (as after a create) so a completion that raced it removes it. A settle
 * that completes a trip removes the object before its deletes are sent, when the trip may have
 * been an anomaly: its knowledge holds an end before a start. That pair outlives any anomaly
 * object (an anomaly settle deletes only later starts and same-instant twins), so the check
 * costs nothing for the common trip and misses no object.
 *
 * Cost of a simple trip (one start, one end, each delivered once): 5 item writes (2 raw puts,
 * the COMPLETED create, 2 raw deletes batched with other trips') and 2-3 Queries (one per
 * matcher batch that names the trip, plus the re-read after the create). Conflicts cost a
 * replace or a create plus a delete per re-match, and a delete per dominated raw item.
 */
import { z } from "zod/v4";
import { formatDateTime } from "../domain/datetime.js";
import { errorName, isValidationError } from "../domain/errors.js";
import { type EndEvent, encodeWireEvent, type StartEvent, type TripEvent } from "../domain/events.js";
import {
  type CompletedTrip,
  essentialEvents,
  eventsOf,
  type MatchOutcome,
  matchTrip,
  sameEvent,
} from "../domain/trip.js";
import { mapWithConcurrency } from "../platform/concurrency.js";
import type { Logger } from "../platform/logger.js";
import { MATCHER_FILTER, TRIP_TABLE } from "../platform/pipeline-spec.js";
import type { RetryPolicy } from "../platform/retry.js";
import type { FailedTrail } from "../store/failed-trail.js";
import type { Stored, TripItems, TripStore } from "../store/trip-store.js";
import { keyItemOf } from "../store/write-request.js";

export interface MatcherDeps {
  store: TripStore;
  trail: FailedTrail;
  logger: Logger;
  now: () => Date;
  retry: RetryPolicy;
}

export type TripStatus = "completed" | "replayed" | "pending" | "anomaly" | "rejected" | "failed";

export interface MatchBatchResult {
  /** Trips whose records must be retried. */
  failedTrips: Set<string>;
  counts: Record<TripStatus, number> & { deleted: number };
}

// Stryker disable all: I/O orchestration, pinned by the emulator tests (matcher.test.ts, functions' model test); mutation testing covers the pure decision logic (planTrip, unique, readRawInsert).
/** Trips settled at once: each is a short chain of round trips, so a few in flight hide latency. */
const TRIP_CONCURRENCY = 16;
/** Reads per settle before giving up for now (the record is retried): each extra round means another writer moved the trip meanwhile. */
const MAX_ROUNDS = 5;

export async function settleTrips(tripIds: readonly string[], deps: MatcherDeps): Promise<MatchBatchResult> {
  const settled = await mapWithConcurrency(tripIds, TRIP_CONCURRENCY, async (tripId) => {
    try {
      return { tripId, ...(await settleTrip(tripId, deps)) };
    } catch (error) {
      // DynamoDB refused a write of this trip for its content: retrying cannot help, and must not hold up the batch.
      if (isValidationError(error))
        return {
          tripId,
          status: "rejected" as const,
          deletes: [],
          ...(await trailRejectedTrip(tripId, errorName(error), deps)),
        };
      deps.logger.warn({ trip_id: tripId, reason: errorName(error) }, "trip not settled; reported for retry");
      return { tripId, status: "failed" as const, deletes: [] };
    }
  });

  // One BatchWriteItem stream for the whole batch: deletes of many trips share requests.
  const deletes = settled.flatMap((trip) => trip.deletes.map((Key) => ({ DeleteRequest: { Key } })));
  const failures = await deps.store.writeAll(deletes, deps.retry);
  const failedTrips = new Set(settled.filter((trip) => trip.status === "failed").map((trip) => trip.tripId));
  for (const failure of failures) {
    const tripId = String(keyItemOf(failure.request)[TRIP_TABLE.partitionKey]);
    if (failure.rejected) {
      // A key DynamoDB will not take cannot be deleted by any retry: trailed, the batch goes on.
      const { failed } = await trailRejectedTrip(tripId, failure.reason, deps);
      if (!failed) continue;
    }
    deps.logger.warn({ trip_id: tripId, reason: failure.reason }, "delete failed; reported for retry");
    failedTrips.add(tripId);
  }
  for (const trip of settled) if ("failed" in trip && trip.failed) failedTrips.add(trip.tripId);

  const counts = {
    completed: 0,
    replayed: 0,
    pending: 0,
    anomaly: 0,
    rejected: 0,
    failed: 0,
    deleted: deletes.length - failures.length,
  };
  for (const trip of settled) counts[failedTrips.has(trip.tripId) ? "failed" : trip.status] += 1;
  return { failedTrips, counts };
}

interface Settlement {
  status: Exclude<TripStatus, "failed">;
  /** Keys to delete: written only after the trip's target state is in place. */
  deletes: Record<string, unknown>[];
}

// Stryker restore all
/** What the rule makes of a trip's current knowledge, and which items it no longer needs. */
export interface TripPlan {
  outcome: MatchOutcome;
  /** The COMPLETED item at the target's key, if one exists (completed outcomes only). */
  current?: Stored<CompletedTrip>;
  /** Items to delete once the target is in place: other COMPLETED items, raw items not needed. */
  deletes: Record<string, unknown>[];
  /** Some known end precedes some known start: the trip may have been trailed as an anomaly. */
  mayHaveBeenAnomaly: boolean;
}

/** Pure: re-runs the rule on the raw items plus the pairs held by COMPLETED items. */
export function planTrip(items: TripItems): TripPlan {
  const held = items.completed.map((c) => eventsOf(c.value));
  const starts = unique([...items.starts.map((s) => s.value), ...held.map((h) => h.start)]);
  const ends = unique([...items.ends.map((e) => e.value), ...held.map((h) => h.end)]);
  const outcome = matchTrip(starts, ends);
  const essential = essentialEvents(starts, ends);
  // The chosen pair lives on the COMPLETED item: its raw copies are not needed.
  const needed =
    outcome.kind === "completed"
      ? [...essential.starts, ...essential.ends].filter((e) => e !== outcome.start && e !== outcome.end)
      : [...essential.starts, ...essential.ends];
  const rawDeletes = [...items.starts, ...items.ends]
    .filter((raw) => !needed.some((event) => sameEvent(event, raw.value)))
    .map((raw) => raw.key);
  const mayHaveBeenAnomaly = ends.some((e) => starts.some((s) => e.dropoff_datetime < s.pickup_datetime));
  // Stryker disable next-line ConditionalExpression: a held pair always completes, so pending/anomaly come with no COMPLETED item and the code below gives the same plan.
  if (outcome.kind !== "completed") return { outcome, deletes: rawDeletes, mayHaveBeenAnomaly };
  const current = items.completed.find((c) => c.value.pickup_datetime === outcome.trip.pickup_datetime);
  return {
    outcome,
    current,
    deletes: [...items.completed.filter((c) => c !== current).map((c) => c.key), ...rawDeletes],
    mayHaveBeenAnomaly,
  };
}

// Stryker disable all: I/O orchestration (see settleTrips)
async function settleTrip(tripId: string, deps: MatcherDeps): Promise<Settlement> {
  const log = deps.logger.child({ trip_id: tripId });
  let wrote = false;
  let trailed = false;
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const items = await deps.store.readTrip(tripId);
    const plan = planTrip(items);
    const { outcome } = plan;
    if (outcome.kind === "pending") return { status: "pending", deletes: plan.deletes };
    if (outcome.kind === "anomaly") {
      if (!(await trailAnomaly(tripId, outcome.start, outcome.end, outcome.rejection.message, deps)))
        return { status: "anomaly", deletes: plan.deletes };
      log.warn(
        { reason: outcome.rejection.code, detail: outcome.rejection.message },
        "anomaly trailed; ends before the pickup kept",
      );
      trailed = true;
      continue; // re-read: a completion that raced this write must remove it (see the top)
    }
    const target = outcome.trip;
    if (!plan.current) {
      if (await deps.store.createCompleted(target)) logChoice(log, items, target, "trip completed");
      wrote = true;
      continue; // re-read after every create (point 4 above)
    }
    if (
      !(
        sameEvent(eventsOf(plan.current.value).start, outcome.start) &&
        sameEvent(eventsOf(plan.current.value).end, outcome.end)
      )
    ) {
      if (!(await deps.store.replaceCompleted(target, plan.current.value))) continue; // changed meanwhile: read again
      logChoice(log, items, target, "trip re-matched in place");
      wrote = true;
    }
    // Before any delete: the pair that says "maybe an anomaly" must outlive the object.
    if (trailed || ((wrote || plan.deletes.length > 0) && plan.mayHaveBeenAnomaly))
      await deps.trail.removeCurrent("anomalies", anomalySubject(tripId));
    return { status: wrote ? "completed" : "replayed", deletes: plan.deletes };
  }
  throw new Error(`trip still changing after ${MAX_ROUNDS} reads`);
}

function logChoice(log: Logger, items: TripItems, trip: CompletedTrip, message: string): void {
  const conflicting = items.starts.length + items.ends.length + 2 * items.completed.length > 2;
  const level = conflicting ? "warn" : "debug";
  log[level](
    {
      pickup: trip.pickup_datetime,
      dropoff: trip.dropoff_datetime,
      replaced: items.completed.map((c) => c.value.pickup_datetime),
    },
    conflicting ? `${message}: the earliest start wins, with the earliest end not before it` : message,
  );
}

// Stryker restore all
function unique<T extends TripEvent>(events: T[]): T[] {
  // Stryker disable next-line MethodExpression,ConditionalExpression: least() and essentialEvents() both keep the first of equal events, so duplicates cannot change the plan.
  return events.filter((event, i) => events.findIndex((other) => sameEvent(other, event)) === i);
}

// Stryker disable all: I/O orchestration (see settleTrips)
const anomalySubject = (tripId: string) => `anomaly-${tripId}`;

/** Writes the trip's anomaly object; false when it already said exactly this. */
async function trailAnomaly(
  tripId: string,
  start: StartEvent,
  end: EndEvent,
  message: string,
  deps: MatcherDeps,
): Promise<boolean> {
  const failedAt = formatDateTime(deps.now());
  const record = (event: StartEvent | EndEvent) => ({
    source: "TripData/matcher",
    raw: encodeWireEvent(event),
    reason: "dropoff_before_pickup" as const,
    field: "dropoff_datetime",
    message,
    failed_at: failedAt,
  });
  return deps.trail.putCurrent("anomalies", anomalySubject(tripId), [record(start), record(end)]);
}

/**
 * Trails a trip whose write DynamoDB refused (store_rejected, failed/anomalies/store-rejected-<trip>):
 * its raw events as read, so nothing is lost and replay can re-send them after a fix. `failed`
 * when the trail itself is unavailable: then the trip is retried instead.
 */
async function trailRejectedTrip(tripId: string, reason: string, deps: MatcherDeps): Promise<{ failed: boolean }> {
  try {
    const items = await deps.store.readTrip(tripId);
    const failedAt = formatDateTime(deps.now());
    const records = [...items.starts, ...items.ends].map((item) => ({
      source: "TripData/matcher",
      raw: encodeWireEvent(item.value),
      reason: "store_rejected" as const,
      message: reason,
      failed_at: failedAt,
    }));
    // One object per trip at a fixed key: a retry on another day rewrites it.
    await deps.trail.putCurrent(
      "anomalies",
      `store-rejected-${tripId}`,
      records.length > 0
        ? records
        : [
            {
              source: "TripData/matcher",
              raw: JSON.stringify({ trip_id: tripId }),
              reason: "store_rejected" as const,
              message: reason,
              failed_at: failedAt,
            },
          ],
    );
    deps.logger.warn({ trip_id: tripId, reason }, "write refused by DynamoDB; trip trailed as store_rejected");
    return { failed: false };
  } catch (error) {
    deps.logger.error({ trip_id: tripId, err: error }, "trail of a refused write failed; reported for retry");
    return { failed: true };
  }
}

// Stryker restore all

const RAW_PREFIX = MATCHER_FILTER.dynamodb.Keys.sort_key.S[0].prefix;

/** The part of a DynamoDB stream record the matcher reads: a RAW insert's trip and sequence number. */
const rawInsertSchema = z.object({
  eventName: z.literal("INSERT"),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    Keys: z.object({
      [TRIP_TABLE.partitionKey]: z.object({ S: z.string().min(1) }),
      [TRIP_TABLE.sortKey]: z.object({ S: z.string().startsWith(RAW_PREFIX) }),
    }),
  }),
});

export type RawInsert = { ok: true; tripId: string; sequenceNumber: string } | { ok: false; reason: string };

/** Reads a stream record; anything but a RAW insert (the event filter's job) is named, never thrown. */
export function readRawInsert(record: unknown): RawInsert {
  const parsed = rawInsertSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join(".") || "record"}: ${issue.message}` };
  }
  const { Keys, SequenceNumber } = parsed.data.dynamodb;
  return { ok: true, tripId: Keys[TRIP_TABLE.partitionKey]!.S, sequenceNumber: SequenceNumber };
}
