/**
 * The matcher: pairs a trip's raw start and end into one COMPLETED#<pickup> item and removes
 * the raw items. Called with the trips named by a batch of RAW inserts, each trip once.
 *
 * Exactly one COMPLETED per trip, without transactions:
 * 1. Deterministic key: `matchTrip` chooses the same pair from the same events (earliest
 *    start, earliest end not before it), so matchers that see the same events write the same
 *    COMPLETED#<pickup>. The create is conditional (attribute_not_exists): one write wins, and
 *    a matcher that finds the key taken goes on as if it had written it (an identical item is
 *    success; a different one, from a concurrent matcher that saw another end, stands).
 * 2. Completion is final: a matcher that finds a COMPLETED item creates nothing; it deletes
 *    the raw items (replays, late events) and every COMPLETED but the winner, the one with the
 *    earliest pickup (the conflict rule's own preference).
 * 3. Concurrent matchers with different views (one saw an earlier start the other did not)
 *    can create two different keys. So every creator re-reads the partition (strongly
 *    consistent) AFTER its create: of two creators, the one whose re-read comes last sees both
 *    items and deletes the loser; the earliest-pickup item is never deleted by anyone.
 * 4. Crashes: the create precedes the deletes and raw items are deleted only when a read
 *    shows a COMPLETED item, so no event is lost. A crash between any two writes leaves the
 *    stream record unacknowledged; its retry (or the next record of the trip) takes path 2
 *    and converges. Deletes are idempotent.
 * Anomalies (every end before the chosen start) go to failed/anomalies/, one object per trip
 * (`anomaly-<trip_id>`, rewritten when re-detected); their raw items stay, so a corrected event
 * can still complete the trip, and otherwise expire by TTL.
 *
 * Cost of one completed trip (one start, one end): 5 item writes (2 raw puts, the conditional
 * COMPLETED put, 2 deletes batched with other trips') and 2-3 Queries (one per matcher batch
 * that names the trip, plus the re-read of point 3).
 */
import { z } from "zod";
import { errorName, keyItemOf, mapWithConcurrency, type RetryPolicy } from "./batch.js";
import { formatDateTime } from "./datetime.js";
import { encodeWireEvent, type EndEvent, type StartEvent } from "./events.js";
import type { FailedTrail } from "./failed-trail.js";
import type { Logger } from "./logger.js";
import { MATCHER_FILTER, TRIP_TABLE } from "./pipeline-spec.js";
import { matchTrip, type CompletedTrip } from "./trip.js";
import { isReplayOf, sameValues, type Stored, type TripItems, type TripStore } from "./trip-store.js";

export interface MatcherDeps {
  store: TripStore;
  trail: FailedTrail;
  logger: Logger;
  now: () => Date;
  retry: RetryPolicy;
}

export type TripStatus = "completed" | "replayed" | "pending" | "anomaly" | "failed";

export interface MatchBatchResult {
  /** Trips whose records must be retried. */
  failedTrips: Set<string>;
  counts: Record<TripStatus, number> & { deleted: number };
}

/** Trips settled at once: each is a short chain of round trips, so a few in flight hide latency. */
const TRIP_CONCURRENCY = 8;

export async function settleTrips(tripIds: readonly string[], deps: MatcherDeps): Promise<MatchBatchResult> {
  const settled = await mapWithConcurrency(tripIds, TRIP_CONCURRENCY, async (tripId) => {
    try {
      return { tripId, ...(await settleTrip(tripId, deps)) };
    } catch (error) {
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
    deps.logger.warn({ trip_id: tripId, reason: failure.reason }, "raw delete failed; reported for retry");
    failedTrips.add(tripId);
  }

  const counts = { completed: 0, replayed: 0, pending: 0, anomaly: 0, failed: 0, deleted: deletes.length - failures.length };
  for (const trip of settled) counts[failedTrips.has(trip.tripId) ? "failed" : trip.status] += 1;
  return { failedTrips, counts };
}

interface Settlement {
  status: Exclude<TripStatus, "failed">;
  /** Keys to delete once the trip has its COMPLETED item. */
  deletes: Record<string, unknown>[];
}

async function settleTrip(tripId: string, deps: MatcherDeps): Promise<Settlement> {
  const log = deps.logger.child({ trip_id: tripId });
  let items = await deps.store.readTrip(tripId);
  let status: Settlement["status"] = "replayed";

  if (items.completed.length === 0) {
    const outcome = matchTrip(
      items.starts.map((s) => s.value),
      items.ends.map((e) => e.value),
    );
    if (outcome.kind === "pending") return { status: "pending", deletes: [] };
    if (outcome.kind === "anomaly") {
      const trailed = await trailAnomaly(tripId, outcome.start, outcome.end, outcome.rejection.message, deps);
      // A trip settled again (a later event, a retry) is the same anomaly: one warning for it.
      if (trailed === "written") log.warn({ reason: outcome.rejection.code, detail: outcome.rejection.message }, "anomaly trailed; raw items kept");
      return { status: "anomaly", deletes: [] };
    }
    if (items.starts.length > 1 || items.ends.length > 1)
      log.warn(
        { starts: items.starts.map((s) => s.value.pickup_datetime), ends: items.ends.map((e) => e.value.dropoff_datetime), pickup: outcome.trip.pickup_datetime, dropoff: outcome.trip.dropoff_datetime },
        "conflicting events: the earliest start wins, with the earliest end not before it",
      );
    const created = await deps.store.createCompleted(outcome.trip);
    items = await deps.store.readTrip(tripId); // the re-read of point 3 above
    const existing = items.completed.find((c) => c.value.pickup_datetime === outcome.trip.pickup_datetime);
    if (!created && existing && !sameValues(existing.value, outcome.trip))
      log.warn({ pickup: outcome.trip.pickup_datetime }, "trip already completed from other events by a concurrent matcher; that item stands");
    status = "completed";
  }

  const [winner, ...losers] = [...items.completed].sort((a, b) => a.value.pickup_datetime.localeCompare(b.value.pickup_datetime));
  // Never delete raw items without a COMPLETED item in the same read (an unexpected state: retry).
  if (!winner) throw new Error("no COMPLETED item after completing the trip");
  if (losers.length > 0)
    log.warn({ kept: winner.value.pickup_datetime, removed: losers.map((l) => l.value.pickup_datetime) }, "duplicate completions removed: the earliest pickup stands");
  if (status === "replayed") logLateConflicts(items, winner.value, log);
  return { status, deletes: [...items.starts, ...items.ends, ...losers].map((item) => item.key) };
}

/** Raw items found next to a COMPLETED one are replays, or late events that lost to completion. */
function logLateConflicts(items: TripItems, trip: CompletedTrip, log: Logger): void {
  const raw: Stored<StartEvent | EndEvent>[] = [...items.starts, ...items.ends];
  const late = raw.filter((item) => !isReplayOf(item.value, trip));
  if (late.length > 0)
    log.warn({ discarded: late.map((item) => item.key[TRIP_TABLE.sortKey]) }, "events differing from the completed trip arrived after completion: discarded");
}

async function trailAnomaly(tripId: string, start: StartEvent, end: EndEvent, message: string, deps: MatcherDeps): Promise<"written" | "exists"> {
  const failedAt = formatDateTime(deps.now());
  const record = (event: StartEvent | EndEvent) => ({
    source: "TripData/matcher",
    raw: encodeWireEvent(event),
    reason: "dropoff_before_pickup" as const,
    field: "dropoff_datetime",
    message,
    failed_at: failedAt,
  });
  return deps.trail.writeOnce("anomalies", `anomaly-${tripId}`, [record(start), record(end)]);
}

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
