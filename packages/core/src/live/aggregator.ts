/**
 * The live KPI aggregator: COMPLETED# changes from the table's stream in, per-day running
 * totals out (items of kpi-aggregates.ts), exactly once without transactions, whatever the
 * order in which the changes are delivered.
 *
 * What AWS may do to a stream consumer, and what the argument below rests on:
 * - Lambda delivers a shard's records in batches; a batch, a retry from a reported record, a
 *   bisected half and a failed batch written to the on-failure destination (and replayed by
 *   `pnpm redrive`, any time later) each hold EVERY record of their shard between their lowest
 *   and highest sequence number that passes the mapping's filter. That is the only ordering
 *   fact used: records may come in any order within a delivery, deliveries may repeat, come
 *   late (a redrive days later, after many later batches), or never come back.
 * - Sequence numbers are unique and comparable within a shard (big integers, up to ~40 digits);
 *   shards roll over and split into children with new ids. Nothing here depends on lineage: each
 *   shard id has its own sets.
 *
 * Sums and counts, per (pickup day, stream shard): the shard's parts hold the set A of sequence
 * ranges such that every change of the day in the shard with a sequence number in A is applied,
 * and no other one is. A delivery spanning [lo, hi] applies, per day, exactly its changes not in
 * A, and adds [lo, hi] to A, in ONE conditional write of the shard's newest part (condition: its
 * version is still the one read; a new part: it does not exist yet). By the fact above every
 * change of the day in [lo, hi] is then applied, so A stays exact; a repeated, reordered, late or
 * partial delivery applies only what A lacks. A day whose write fails is reported from its lowest
 * change; Lambda re-delivers from there, and days already written recognise their changes in A.
 * A grows by about one range per batch that touches the day, so a shard's set is split over parts
 * of at most MAX_RANGES_PER_PART ranges: only the newest part is written (bounded write units),
 * all of the shard's parts are read. A part sums every live summed source column of the KPI
 * registry (its fare, tips, distance, duration...), one exact Decimal each, kept as text and SET
 * not ADDed (DynamoDB numbers round beyond 38 digits): a sum KPI added to the registry is kept
 * with no change here.
 *
 * Max and min, per day (one EXTREMES item every shard's consumer writes, optimistic on its
 * version) describe the day's CURRENT completed trips, so they are computed from the table, not
 * from the changes (a late insert of a trip removed since must not raise the max):
 * - a batch raises/lowers them with the current values (a consistent BatchGetItem) of the items
 *   it touched;
 * - when a removed value reaches the stored max or min, they are recomputed from the day's index
 *   (every GSI shard), with the touched items' current values over the index's (the index lags).
 *   The recompute is checked: the index's count and sum must equal the day's applied sums (every
 *   shard's parts plus this batch). An index behind its table catches up within a second or two:
 *   the check is repeated after short waits (INDEX_WAITS_MS). If it still disagrees, another
 *   shard's consumer (or a failed batch not yet redriven) holds changes of the day: the extremes
 *   are stored as unsettled (read as "settling"), and the batch that brings those changes checks
 *   again: every batch that writes a part reads EXTREMES AFTER its write and, if unsettled,
 *   recomputes. Whoever flags a day flags it before writing its own part, so the last part written
 *   (its check comes after every other write) sees the flag and all the sums: the last change of
 *   a day to be applied always leaves it settled.
 * Extremes are written before the sums and every step is idempotent, so a crash in between is
 * healed by the retry.
 *
 * TTL: EXTREMES carries the day's expiry, refreshed to last write + ttlDays (at most once a day
 * of wall clock per day of data). When DynamoDB's TTL deletes it, its REMOVE (TTL service
 * identity) reaches this consumer: the day gets its EXPIRED marker and its parts are deleted.
 * From then on (and if a change comes first, from the parts left without EXTREMES) the day's
 * changes are not counted live: the nightly rows serve that day.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type AttributeValue, BatchGetItemCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { z } from "zod/v4";
import { dateOf, formatDateTime } from "../domain/datetime.js";
import { Decimal } from "../domain/decimal.js";
import { errorName } from "../domain/errors.js";
import { type KpiTrip, sourceValue } from "../kpi/daily-kpis.js";
import { LIVE_EXTREME_SOURCE, LIVE_SUM_SOURCES } from "../kpi/registry.js";
import { mapWithConcurrency } from "../platform/concurrency.js";
import type { Logger } from "../platform/logger.js";
import { KPI_AGGREGATOR_FILTER, TRIP_TABLE, TTL_IDENTITY } from "../platform/pipeline-spec.js";
import { backoffDelay, DEFAULT_RETRY } from "../platform/retry.js";
import { writeAll } from "../store/batch-write.js";
import {
  allDayShards,
  createTripService,
  KPI_EXTREMES_KEY,
  KPI_PREFIX,
  kpiExpiredEntity,
  kpiExtremesEntity,
  kpiPartKey,
  kpiPartNumber,
  kpiShardEntity,
} from "../store/entities.js";
import { addRange, covers, formatRanges, type SequenceRange } from "../streams/sequence-ranges.js";
import {
  type DayAggregates,
  dayTotals,
  isRetired,
  readDayAggregates,
  readDayMarkers,
  readShardOfDay,
  type ShardPart,
} from "./aggregate-reads.js";

export interface KpiAggregatorDeps {
  db: DynamoDBDocumentClient;
  tableName: string;
  logger: Logger;
  /** A day's live items expire this many days after their last write (DynamoDB TTL). */
  ttlDays: number;
  now: () => Date;
  /** Waits before re-reading an index that disagrees with the sums (default INDEX_WAITS_MS). */
  indexWaitsMs?: readonly number[];
}

/** One COMPLETED# change as the aggregator counts it. */
export interface KpiChange {
  sequenceNumber: string;
  /** The COMPLETED item's key. */
  key: { trip_id: string; sort_key: string };
  date: string;
  /** The change's stream time, `YYYY-MM-DD HH:MM:SS` UTC. */
  at: string;
  /** What a trip brings in (INSERT, new side of MODIFY). */
  added?: ChangeSide;
  /** What a trip takes out (REMOVE, old side of MODIFY). */
  removed?: ChangeSide;
}

/** One side of a change: the trip's fare (for the extremes) and its value of every live summed source. */
export interface ChangeSide {
  fare: Decimal;
  sums: ReadonlyMap<string, Decimal>;
}

const COMPLETED_PREFIX = KPI_AGGREGATOR_FILTER.dynamodb.Keys.sort_key.S[0].prefix;
/** A COMPLETED item's image: the fare, and whatever columns the live sums read (typed DynamoDB JSON). */
const tripImage = z.object({ fare_amount: z.object({ N: z.string() }) }).passthrough();
const keysSchema = z.object({
  [TRIP_TABLE.partitionKey]: z.object({ S: z.string() }),
  [TRIP_TABLE.sortKey]: z.object({ S: z.string() }),
});
const recordSchema = z.object({
  eventName: z.enum(["INSERT", "MODIFY", "REMOVE"]),
  userIdentity: z.object({ type: z.string(), principalId: z.string() }).optional(),
  dynamodb: z.object({
    SequenceNumber: z.string().regex(/^\d{1,64}$/),
    ApproximateCreationDateTime: z.number().nonnegative(),
    Keys: keysSchema,
    NewImage: tripImage.optional(),
    OldImage: tripImage.optional(),
  }),
});

export type KpiRecord =
  | { kind: "change"; change: KpiChange }
  /** DynamoDB's TTL deleted a day's EXTREMES: the day's live items are done. */
  | { kind: "day_expired"; date: string }
  | { kind: "skipped"; reason: string };

const isTtlDelete = (identity: { type: string; principalId: string } | undefined) =>
  identity?.type === TTL_IDENTITY.type && identity.principalId === TTL_IDENTITY.principalId;

/** Reads a stream record; anything the filters should have kept out is named, never thrown. */
export function readKpiRecord(record: unknown): KpiRecord {
  const parsed = recordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { kind: "skipped", reason: `${issue.path.join(".") || "record"}: ${issue.message}` };
  }
  const { eventName, dynamodb, userIdentity } = parsed.data;
  const partitionKey = dynamodb.Keys[TRIP_TABLE.partitionKey]!.S;
  const sortKey = dynamodb.Keys[TRIP_TABLE.sortKey]!.S;
  if (sortKey === KPI_EXTREMES_KEY && partitionKey.startsWith(KPI_PREFIX)) {
    if (eventName === "REMOVE" && isTtlDelete(userIdentity))
      return { kind: "day_expired", date: partitionKey.slice(KPI_PREFIX.length) };
    return { kind: "skipped", reason: `${eventName} of ${KPI_EXTREMES_KEY} not by TTL` };
  }
  if (!sortKey.startsWith(COMPLETED_PREFIX))
    return { kind: "skipped", reason: `dynamodb.Keys.${TRIP_TABLE.sortKey}: not a ${COMPLETED_PREFIX} item` };
  // Completed trips carry no TTL attribute; a TTL delete of one is no trip leaving the day.
  if (isTtlDelete(userIdentity))
    return { kind: "skipped", reason: "TTL delete of a completed trip (completed trips have no expiry)" };
  const image = (side: "NewImage" | "OldImage"): ChangeSide | undefined => {
    const item = dynamodb[side];
    if (item === undefined) return undefined;
    const trip = Object.fromEntries(
      Object.entries(item).map(([name, value]) => [
        name,
        (value as { N?: string; S?: string }).N ?? (value as { S?: string }).S,
      ]),
    ) as unknown as KpiTrip;
    return {
      fare: Decimal.parseNumber(item.fare_amount.N),
      sums: new Map(LIVE_SUM_SOURCES.map((source) => [source, sourceValue(trip, source)])),
    };
  };
  try {
    const change: KpiChange = {
      sequenceNumber: dynamodb.SequenceNumber,
      key: { trip_id: partitionKey, sort_key: sortKey },
      date: dateOf(sortKey.slice(COMPLETED_PREFIX.length)),
      at: formatDateTime(new Date(dynamodb.ApproximateCreationDateTime * 1000)),
      ...(eventName !== "REMOVE" && { added: image("NewImage") }),
      ...(eventName !== "INSERT" && { removed: image("OldImage") }),
    };
    // The stream's view type is NEW_AND_OLD_IMAGES: a side missing is a record that cannot be counted.
    if ((eventName !== "REMOVE" && !change.added) || (eventName !== "INSERT" && !change.removed))
      return { kind: "skipped", reason: `${eventName} without its image` };
    return { kind: "change", change };
  } catch (error) {
    return { kind: "skipped", reason: errorName(error) };
  }
}

export interface KpiBatchResult {
  /** The lowest change not applied: Lambda must re-deliver from it (undefined: all applied). */
  failedFrom?: string;
  /** Conditional writes made (sums and extremes). */
  writes: number;
  applied: number;
  /** Changes already applied by an earlier delivery. */
  replayed: number;
  recomputes: number;
  /** Changes of days whose live items expired (the nightly rows serve those days). */
  expired: number;
  /** Days whose extremes are waiting for a shard or the index to catch up. */
  settling: number;
}

/** A delivery of one shard: its changes, its expired days and the span of ALL its records' sequence numbers. */
export interface KpiDelivery {
  shardId: string;
  span: SequenceRange;
  changes: readonly KpiChange[];
  expiredDays?: readonly string[];
}

/** Days handled at once: each is a few reads and one or two writes. */
const DAY_CONCURRENCY = 4;
/** Optimistic writes retried this often on a concurrent change before the day is reported failed. */
const CONFLICT_ATTEMPTS = 5;
/** Ranges per part: ~45 bytes each, so a part write stays within a few write units. */
export const MAX_RANGES_PER_PART = 64;
/** Waits for an index behind its table (GSI propagation is typically well under a second). */
export const INDEX_WAITS_MS = [250, 500, 1_000, 2_000] as const;
const SECONDS_PER_DAY = 86_400;

export async function applyKpiDelivery(delivery: KpiDelivery, deps: KpiAggregatorDeps): Promise<KpiBatchResult> {
  const byDay = new Map<string, KpiChange[]>();
  for (const change of delivery.changes) byDay.set(change.date, [...(byDay.get(change.date) ?? []), change]);
  const result: KpiBatchResult = { writes: 0, applied: 0, replayed: 0, recomputes: 0, expired: 0, settling: 0 };
  for (const date of delivery.expiredDays ?? []) await expireDay(date, deps);
  let failedFrom: bigint | undefined;
  await mapWithConcurrency([...byDay.entries()], DAY_CONCURRENCY, async ([date, dayChanges]) => {
    const lowest = dayChanges.reduce(
      (min, c) => (BigInt(c.sequenceNumber) < min ? BigInt(c.sequenceNumber) : min),
      BigInt(dayChanges[0]!.sequenceNumber),
    );
    try {
      await applyDay(date, delivery, dayChanges, deps, result);
    } catch (error) {
      deps.logger.warn(
        { pickup_date: date, shardId: delivery.shardId, reason: errorName(error) },
        "live KPIs of a day not updated; reported for retry",
      );
      if (failedFrom === undefined || lowest < failedFrom) failedFrom = lowest;
    }
  });
  return {
    ...result,
    ...(failedFrom !== undefined && {
      failedFrom: delivery.changes.find((c) => BigInt(c.sequenceNumber) === failedFrom)!.sequenceNumber,
    }),
  };
}

async function applyDay(
  date: string,
  delivery: KpiDelivery,
  changes: readonly KpiChange[],
  deps: KpiAggregatorDeps,
  result: KpiBatchResult,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const day = await readShardOfDay(deps.db, deps.tableName, date, delivery.shardId);
    // Without EXTREMES the day is new, unless TTL took it: then the whole day says so.
    if (day.expired || (!day.extremes && isRetired(await readDayAggregates(deps.db, deps.tableName, date)))) {
      if (!day.expired) await expireDay(date, deps);
      deps.logger.warn(
        { pickup_date: date, changes: changes.length },
        "changes to a day whose live KPIs expired: not counted live (the nightly rows serve it)",
      );
      result.expired += changes.length;
      return;
    }
    const applied = day.parts.flatMap((part) => part.applied);
    const fresh = changes.filter((change) => !covers(applied, BigInt(change.sequenceNumber)));
    if (fresh.length === 0 && !day.extremes?.unsettledSince) {
      result.replayed += changes.length;
      return;
    }
    try {
      await updateExtremes(date, fresh, day, deps, result);
      if (fresh.length > 0) {
        await updatePart(date, delivery, fresh, day.parts, deps);
        result.writes += 1;
      }
      result.applied += fresh.length;
      result.replayed += changes.length - fresh.length;
      if (!(await settleAfterWrite(date, deps, result))) result.settling += 1;
      return;
    } catch (error) {
      // Another writer moved the item between our read and write (a duplicate invocation, or
      // another shard's consumer on the extremes): read again and recompute.
      if (!isConditionFailure(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}

/** After a part write: a day flagged unsettled meanwhile (by this batch or another) is checked again. */
async function settleAfterWrite(date: string, deps: KpiAggregatorDeps, result: KpiBatchResult): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    const markers = await readDayMarkers(deps.db, deps.tableName, date);
    if (!markers.extremes?.unsettledSince) return true;
    try {
      return await updateExtremes(date, [], markers, deps, result);
    } catch (error) {
      if (!isConditionFailure(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string }).name === "ConditionalCheckFailedException";
}

async function updatePart(
  date: string,
  delivery: KpiDelivery,
  fresh: readonly KpiChange[],
  parts: readonly ShardPart[],
  deps: KpiAggregatorDeps,
): Promise<void> {
  const newest = parts.reduce<ShardPart | undefined>(
    (top, part) => (!top || part.part > top.part ? part : top),
    undefined,
  );
  // A part that lacks a live source (written before its field joined the registry) is not extended: its sums stay what they were.
  const current =
    newest && newest.applied.length < MAX_RANGES_PER_PART && LIVE_SUM_SOURCES.every((source) => newest.sums.has(source))
      ? newest
      : undefined;
  const { sums, count } = withChanges(
    {
      sums: current?.sums ?? new Map(LIVE_SUM_SOURCES.map((source) => [source, Decimal.ZERO])),
      count: current?.count ?? 0,
    },
    fresh,
  );
  const asOf = fresh.reduce<string | null>(
    (newest, change) => (newest === null || change.at > newest ? change.at : newest),
    current?.asOf ?? null,
  );
  const part = current?.part ?? (newest ? newest.part + 1 : 1);
  const params = kpiShardEntity
    .update({ pickup_date: date, shard_id: delivery.shardId, part: kpiPartNumber(part) })
    .set({
      trip_count: count,
      sums: Object.fromEntries([...sums].map(([source, sum]) => [source, sum.toString()])),
      applied: formatRanges(addRange(current?.applied ?? [], delivery.span)),
      version: (current?.version ?? 0) + 1,
      ...(asOf !== null && { as_of: asOf }),
    })
    .where((attr, op) => (current ? op.eq(attr.version, current.version) : op.notExists(attr.version)))
    .params({ table: deps.tableName });
  await deps.db.send(new UpdateCommand(params as ConstructorParameters<typeof UpdateCommand>[0]));
}

type Extremes = { max: Decimal | null; min: Decimal | null };

/** Writes the day's extremes when they, their settledness or their expiry change; false while unsettled. */
async function updateExtremes(
  date: string,
  fresh: readonly KpiChange[],
  day: DayAggregates,
  deps: KpiAggregatorDeps,
  result: KpiBatchResult,
): Promise<boolean> {
  const current = day.extremes;
  const now = deps.now();
  const standing = await currentFares(fresh, deps);
  const hitsExtreme = fresh.some(
    (change) =>
      change.removed &&
      (!current?.max ||
        !current.min ||
        change.removed.fare.compare(current.max) >= 0 ||
        change.removed.fare.compare(current.min) <= 0),
  );
  let next: Extremes;
  let unsettledSince: string | undefined;
  if (hitsExtreme || current?.unsettledSince) {
    result.recomputes += 1;
    const waits = deps.indexWaitsMs ?? INDEX_WAITS_MS;
    let check = await recompute(date, fresh, standing, deps);
    for (let attempt = 0; !check.agrees && attempt < waits.length; attempt += 1) {
      await sleep(waits[attempt]!);
      check = await recompute(date, fresh, standing, deps);
    }
    next = check.extremes;
    if (!check.agrees) unsettledSince = current?.unsettledSince ?? formatDateTime(now);
  } else
    next = extend(
      { max: current?.max ?? null, min: current?.min ?? null },
      [...standing.values()].filter((value) => value !== undefined),
    );

  const expiresAt = Math.floor(now.getTime() / 1000) + deps.ttlDays * SECONDS_PER_DAY;
  // Refreshed at most once a day, and never later than half the TTL: a short TTL must not lapse on a day still written.
  const refreshDue =
    !current?.expiresAt ||
    current.expiresAt < expiresAt - Math.min(SECONDS_PER_DAY, (deps.ttlDays * SECONDS_PER_DAY) / 2);
  if (
    !current ||
    refreshDue ||
    !sameExtremes(current, next) ||
    (current.unsettledSince ?? undefined) !== unsettledSince
  ) {
    const version = current?.version ?? 0;
    const params = kpiExtremesEntity
      .update({ pickup_date: date })
      .set({
        version: version + 1,
        expires_at: expiresAt,
        ...(next.max && { max_fare: next.max.toString() }),
        ...(next.min && { min_fare: next.min.toString() }),
        ...(unsettledSince && { unsettled_since: unsettledSince }),
      })
      .remove([
        ...(next.max ? [] : (["max_fare", "min_fare"] as const)),
        ...(unsettledSince ? [] : (["unsettled_since"] as const)),
      ])
      .where((attr, op) => (current ? op.eq(attr.version, version) : op.notExists(attr.version)))
      .params({ table: deps.tableName });
    await deps.db.send(new UpdateCommand(params as ConstructorParameters<typeof UpdateCommand>[0]));
    result.writes += 1;
  }
  if (unsettledSince)
    deps.logger.info(
      { pickup_date: date, unsettled_since: unsettledSince },
      "live max/min settling: another shard holds changes of the day not applied yet",
    );
  return !unsettledSince;
}

/**
 * The day's extremes from its index, the touched items' current values over the index's, and
 * whether the index agrees with the sums the day will hold after this batch.
 */
async function recompute(
  date: string,
  fresh: readonly KpiChange[],
  standing: Map<string, Decimal | undefined>,
  deps: KpiAggregatorDeps,
): Promise<{ extremes: Extremes; agrees: boolean }> {
  const completed = createTripService(deps.db, deps.tableName).entities.completed;
  const [shards, day] = await Promise.all([
    Promise.all(
      allDayShards().map((day_shard) =>
        completed.query
          .byPickupDay({ pickup_date: date, day_shard })
          .go({ pages: "all", attributes: ["trip_id", "pickup_datetime", "fare_amount"] }),
      ),
    ),
    readDayAggregates(deps.db, deps.tableName, date),
  ]);
  const fares = new Map<string, Decimal>();
  for (const { data } of shards)
    for (const trip of data)
      fares.set(
        itemId({ trip_id: trip.trip_id, sort_key: `${COMPLETED_PREFIX}${trip.pickup_datetime}` }),
        Decimal.parseNumber(String(trip.fare_amount)),
      );
  for (const [item, fare] of standing) {
    if (fare === undefined) fares.delete(item);
    else fares.set(item, fare);
  }
  const expected = withChanges(dayTotals(day.parts), fresh);
  const values = [...fares.values()];
  const sum = values.reduce((total, fare) => total.plus(fare), Decimal.ZERO);
  const expectedFares = expected.sums.get(LIVE_EXTREME_SOURCE);
  return {
    extremes: extend({ max: null, min: null }, values),
    agrees: values.length === expected.count && expectedFares !== undefined && sum.compare(expectedFares) === 0,
  };
}

const itemId = (key: KpiChange["key"]) => `${key.trip_id}|${key.sort_key}`;

/** Sums and count with the changes applied: an added side adds each source's value and one trip, a removed side takes them out. */
function withChanges(
  totals: { sums: ReadonlyMap<string, Decimal>; count: number },
  changes: readonly KpiChange[],
): { sums: Map<string, Decimal>; count: number } {
  const sums = new Map(totals.sums);
  let count = totals.count;
  for (const change of changes) {
    for (const [side, sign] of [
      [change.added, 1],
      [change.removed, -1],
    ] as const) {
      if (!side) continue;
      count += sign;
      for (const [source, sum] of sums)
        sums.set(source, sign > 0 ? sum.plus(side.sums.get(source)!) : sum.minus(side.sums.get(source)!));
    }
  }
  return { sums, count };
}

/** The current fare of every item the changes touched (undefined: the item is gone), read strongly consistent. */
async function currentFares(
  changes: readonly KpiChange[],
  deps: KpiAggregatorDeps,
): Promise<Map<string, Decimal | undefined>> {
  const keys = new Map(changes.map((change) => [itemId(change.key), change.key]));
  const fares = new Map<string, Decimal | undefined>([...keys.keys()].map((item) => [item, undefined]));
  let pending = [...keys.values()].map(
    (key) =>
      ({ [TRIP_TABLE.partitionKey]: { S: key.trip_id }, [TRIP_TABLE.sortKey]: { S: key.sort_key } }) as Record<
        string,
        AttributeValue
      >,
  );
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    const chunk = pending.slice(0, BATCH_GET_LIMIT);
    pending = pending.slice(BATCH_GET_LIMIT);
    const reply = await deps.db.send(
      new BatchGetItemCommand({
        RequestItems: {
          [deps.tableName]: {
            Keys: chunk,
            ConsistentRead: true,
            ProjectionExpression: "#pk, #sk, fare_amount",
            ExpressionAttributeNames: { "#pk": TRIP_TABLE.partitionKey, "#sk": TRIP_TABLE.sortKey },
          },
        },
      }),
    );
    for (const raw of reply.Responses?.[deps.tableName] ?? []) {
      const item = unmarshall(raw, { wrapNumbers: true });
      fares.set(
        itemId({ trip_id: String(item[TRIP_TABLE.partitionKey]), sort_key: String(item[TRIP_TABLE.sortKey]) }),
        Decimal.parseNumber(String((item.fare_amount as { value?: string }).value ?? item.fare_amount)),
      );
    }
    const unprocessed = reply.UnprocessedKeys?.[deps.tableName]?.Keys ?? [];
    if (unprocessed.length > 0) {
      if (attempt + 1 >= DEFAULT_RETRY.attempts)
        throw new Error(`${unprocessed.length} items not read after ${attempt + 1} attempts`);
      await sleep(backoffDelay(DEFAULT_RETRY, attempt));
      pending = [...unprocessed, ...pending];
    }
  }
  return fares;
}

/** BatchGetItem's limit of keys per call. */
const BATCH_GET_LIMIT = 100;

function extend(base: Extremes, values: readonly Decimal[]): Extremes {
  let { max, min } = base;
  for (const value of values) {
    if (!max || value.compare(max) > 0) max = value;
    if (!min || value.compare(min) < 0) min = value;
  }
  return { max, min };
}

function sameExtremes(current: Extremes, next: Extremes): boolean {
  const same = (a: Decimal | null, b: Decimal | null) => (a === null ? b === null : b !== null && a.compare(b) === 0);
  return same(current.max, next.max) && same(current.min, next.min);
}

/**
 * The day's live items are done (TTL took its EXTREMES): the marker first, so no change is
 * counted against a partial day from then on, then the parts. Idempotent.
 */
async function expireDay(date: string, deps: KpiAggregatorDeps): Promise<void> {
  const marker = kpiExpiredEntity
    .create({ pickup_date: date, expired_at: formatDateTime(deps.now()) })
    .params({ table: deps.tableName });
  try {
    await deps.db.send(new PutCommand(marker as ConstructorParameters<typeof PutCommand>[0]));
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
  const { parts } = await readDayAggregates(deps.db, deps.tableName, date);
  const deletes = parts.map((part) => ({
    DeleteRequest: {
      Key: {
        [TRIP_TABLE.partitionKey]: `${KPI_PREFIX}${date}`,
        [TRIP_TABLE.sortKey]: kpiPartKey(part.shardId, part.part),
      },
    },
  }));
  const failures = await writeAll(deps.db, deps.tableName, deletes, DEFAULT_RETRY);
  if (failures.length > 0)
    throw new Error(`${failures.length} live KPI parts of ${date} not deleted: ${failures[0]!.reason}`);
  deps.logger.warn(
    { pickup_date: date, parts: parts.length },
    "live KPIs of a day expired; the nightly rows serve it from now on",
  );
}
