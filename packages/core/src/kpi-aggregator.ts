/**
 * The live KPI aggregator: COMPLETED# changes from the table's stream in, per-day running
 * totals out (items of kpi-aggregates.ts), exactly once without transactions.
 *
 * Sums and counts, per (pickup day, stream shard):
 * - Lambda hands one batch of one shard at a time (parallelization 1) and the shard's sequence
 *   numbers increase. The (day, shard) item stores the last applied sequence number, so
 *   "every change of this day and shard up to it is applied" holds by construction: a batch
 *   applies, per day, exactly its changes above the stored number, all in ONE conditional
 *   UpdateItem that sets the new number (condition: the stored number is still the one read).
 *   Numbers are compared as big integers in code (up to 40 digits: not a DynamoDB number).
 * - A change is never applied without every earlier change of its day and shard: when a day's
 *   write fails, the batch reports its lowest unapplied change and Lambda re-delivers from
 *   there (Lambda checkpoints only below the lowest reported record), and records of other days
 *   already applied are recognised by the stored number. Retries, replays, bisected halves and
 *   crashes between any two writes therefore neither double count nor skip.
 * - The sum is computed exactly in code (Decimal) and SET, not ADDed: DynamoDB would round or
 *   reject sums beyond 38 digits; those go to `total_fare_text` instead.
 *
 * Max and min, per day (one `EXTREMES` item every shard's consumer writes, optimistic on its
 * version): inserts raise/lower them directly; a removal (or the old side of a MODIFY) of a
 * value equal to the stored max or min recomputes it from the day's current COMPLETED items on
 * the per-day GSI (16 Queries, reading the whole day: ~N/16 read units for N trips of ~0.5 KB,
 * eventually consistent reads). That happens only when the extreme trip itself is re-matched
 * or deleted. Extremes are written before the sums, and every step is idempotent, so a crash
 * in between is healed by the retry.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { errorName, mapWithConcurrency } from "./batch.js";
import { dateOf, formatDateTime } from "./datetime.js";
import { Decimal } from "./decimal.js";
import { allDayShards, createTripService, kpiExtremesEntity, kpiShardEntity } from "./entities.js";
import { readDayAggregates, type DayAggregates, type DayExtremes } from "./kpi-aggregates.js";
import type { Logger } from "./logger.js";
import { KPI_AGGREGATOR_FILTER, TRIP_TABLE } from "./pipeline-spec.js";

export interface KpiAggregatorDeps {
  db: DynamoDBDocumentClient;
  tableName: string;
  logger: Logger;
  /** Aggregate items expire this many days after their pickup day ends (DynamoDB TTL). */
  ttlDays: number;
}

/** One COMPLETED# change as the aggregator counts it. */
export interface KpiChange {
  sequenceNumber: string;
  /** The COMPLETED item's key (`<trip_id>|<sort key>`). */
  item: string;
  date: string;
  /** The change's stream time, `YYYY-MM-DD HH:MM:SS` UTC. */
  at: string;
  /** The fare a trip brings in (INSERT, new side of MODIFY). */
  added?: Decimal;
  /** The fare a trip takes out (REMOVE, old side of MODIFY). */
  removed?: Decimal;
}

const COMPLETED_PREFIX = KPI_AGGREGATOR_FILTER.dynamodb.Keys.sort_key.S[0].prefix;
const fareImage = z.object({ fare_amount: z.object({ N: z.string() }) });
const changeSchema = z.object({
  eventName: z.enum(["INSERT", "MODIFY", "REMOVE"]),
  dynamodb: z.object({
    SequenceNumber: z.string().regex(/^\d{1,64}$/),
    ApproximateCreationDateTime: z.number().nonnegative(),
    Keys: z.object({ [TRIP_TABLE.partitionKey]: z.object({ S: z.string() }), [TRIP_TABLE.sortKey]: z.object({ S: z.string().startsWith(COMPLETED_PREFIX) }) }),
    NewImage: fareImage.optional(),
    OldImage: fareImage.optional(),
  }),
});

export type ReadChange = { ok: true; change: KpiChange } | { ok: false; reason: string };

/** Reads a stream record; anything the filter should have kept out is named, never thrown. */
export function readKpiChange(record: unknown): ReadChange {
  const parsed = changeSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join(".") || "record"}: ${issue.message}` };
  }
  const { eventName, dynamodb } = parsed.data;
  const sortKey = dynamodb.Keys[TRIP_TABLE.sortKey]!.S;
  const pickup = sortKey.slice(COMPLETED_PREFIX.length);
  const image = (side: "NewImage" | "OldImage") => {
    const fare = dynamodb[side]?.fare_amount.N;
    return fare === undefined ? undefined : Decimal.parseNumber(fare);
  };
  try {
    const change: KpiChange = {
      sequenceNumber: dynamodb.SequenceNumber,
      item: `${dynamodb.Keys[TRIP_TABLE.partitionKey]!.S}|${sortKey}`,
      date: dateOf(pickup),
      at: formatDateTime(new Date(dynamodb.ApproximateCreationDateTime * 1000)),
      ...(eventName !== "REMOVE" && { added: image("NewImage") }),
      ...(eventName !== "INSERT" && { removed: image("OldImage") }),
    };
    // The stream's view type is NEW_AND_OLD_IMAGES: a side missing is a record that cannot be counted.
    if ((eventName !== "REMOVE" && !change.added) || (eventName !== "INSERT" && !change.removed)) return { ok: false, reason: `${eventName} without its image` };
    return { ok: true, change };
  } catch (error) {
    return { ok: false, reason: errorName(error) };
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
}

/** Days handled at once: each is a read and one or two writes. */
const DAY_CONCURRENCY = 4;
/** Optimistic writes retried this often on a concurrent change before the day is reported failed. */
const CONFLICT_ATTEMPTS = 5;

export async function applyKpiChanges(shardId: string, changes: readonly KpiChange[], deps: KpiAggregatorDeps): Promise<KpiBatchResult> {
  const byDay = new Map<string, KpiChange[]>();
  for (const change of changes) byDay.set(change.date, [...(byDay.get(change.date) ?? []), change]);
  const result: KpiBatchResult = { writes: 0, applied: 0, replayed: 0, recomputes: 0 };
  let failedFrom: bigint | undefined;
  await mapWithConcurrency([...byDay.entries()], DAY_CONCURRENCY, async ([date, dayChanges]) => {
    try {
      await applyDay(date, shardId, dayChanges, deps, result);
    } catch (error) {
      const lowest = dayChanges.reduce((min, c) => (BigInt(c.sequenceNumber) < min ? BigInt(c.sequenceNumber) : min), BigInt(dayChanges[0]!.sequenceNumber));
      deps.logger.warn({ pickup_date: date, shardId, reason: errorName(error) }, "live KPIs of a day not updated; reported for retry");
      if (failedFrom === undefined || lowest < failedFrom) failedFrom = lowest;
    }
  });
  return { ...result, ...(failedFrom !== undefined && { failedFrom: changes.find((c) => BigInt(c.sequenceNumber) === failedFrom)!.sequenceNumber }) };
}

async function applyDay(date: string, shardId: string, changes: readonly KpiChange[], deps: KpiAggregatorDeps, result: KpiBatchResult): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const day = await readDayAggregates(deps.db, deps.tableName, date);
    const stored = day.shards.find((shard) => shard.shardId === shardId);
    const storedSequence = stored ? BigInt(stored.lastSequence) : -1n;
    const fresh = changes.filter((change) => BigInt(change.sequenceNumber) > storedSequence);
    if (fresh.length === 0) {
      result.replayed += changes.length;
      return;
    }
    try {
      await updateExtremes(date, fresh, day, deps, result);
      await updateShard(date, shardId, fresh, stored, deps);
      result.writes += 1;
      result.applied += fresh.length;
      result.replayed += changes.length - fresh.length;
      return;
    } catch (error) {
      // Another writer moved the item between our read and write (a duplicate invocation, or
      // another shard's consumer on the extremes): read again and recompute.
      if (!isConditionFailure(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string }).name === "ConditionalCheckFailedException";
}

async function updateShard(date: string, shardId: string, fresh: readonly KpiChange[], stored: DayAggregates["shards"][number] | undefined, deps: KpiAggregatorDeps): Promise<void> {
  let total = stored?.total ?? Decimal.ZERO;
  let count = stored?.count ?? 0;
  let asOf = stored?.asOf ?? null;
  for (const change of fresh) {
    if (change.added) (total = total.plus(change.added)), (count += 1);
    if (change.removed) (total = total.minus(change.removed)), (count -= 1);
    if (asOf === null || change.at > asOf) asOf = change.at;
  }
  const last = fresh.reduce((max, c) => (BigInt(c.sequenceNumber) > BigInt(max) ? c.sequenceNumber : max), fresh[0]!.sequenceNumber);
  const storable = total.fitsDynamoDbNumber();
  const params = kpiShardEntity
    .update({ pickup_date: date, shard_id: shardId })
    .set({ trip_count: count, last_sequence: last, expires_at: expiresAt(date, deps.ttlDays), ...(asOf !== null && { as_of: asOf }), ...(storable ? { total_fare: total.toString() } : { total_fare_text: total.toString() }) })
    .remove(storable ? ["total_fare_text"] : ["total_fare"])
    .where((attr, op) => (stored ? op.eq(attr.last_sequence, stored.lastSequence) : op.notExists(attr.last_sequence)))
    .params({ table: deps.tableName });
  await deps.db.send(new UpdateCommand(params as ConstructorParameters<typeof UpdateCommand>[0]));
}

async function updateExtremes(date: string, fresh: readonly KpiChange[], day: DayAggregates, deps: KpiAggregatorDeps, result: KpiBatchResult): Promise<void> {
  const current = day.extremes;
  const added = fresh.flatMap((change) => (change.added ? [change.added] : []));
  const hitsExtreme = fresh.some((change) => change.removed && (!current?.max || !current.min || change.removed.compare(current.max) >= 0 || change.removed.compare(current.min) <= 0));
  let next = extend({ max: current?.max ?? null, min: current?.min ?? null }, added);
  if (hitsExtreme) {
    result.recomputes += 1;
    // The index holds the day's current items. Of the batch, only each item's last value still
    // stands (an insert later removed or replaced in the same batch does not), and is added in
    // case the index has not caught up with it yet.
    const standing = new Map<string, Decimal | undefined>();
    for (const change of fresh) standing.set(change.item, change.added);
    next = extend(await extremesOnIndex(date, deps), [...standing.values()].filter((value) => value !== undefined));
  }
  if (current && sameExtremes(current, next)) return;
  const version = current?.version ?? 0;
  const params = kpiExtremesEntity
    .update({ pickup_date: date })
    .set({ version: version + 1, expires_at: expiresAt(date, deps.ttlDays), ...(next.max && { max_fare: next.max.toString() }), ...(next.min && { min_fare: next.min.toString() }) })
    .remove(next.max ? [] : ["max_fare", "min_fare"])
    .where((attr, op) => (current ? op.eq(attr.version, version) : op.notExists(attr.version)))
    .params({ table: deps.tableName });
  await deps.db.send(new UpdateCommand(params as ConstructorParameters<typeof UpdateCommand>[0]));
  result.writes += 1;
}

function extend(base: { max: Decimal | null; min: Decimal | null }, values: readonly Decimal[]) {
  let { max, min } = base;
  for (const value of values) {
    if (!max || value.compare(max) > 0) max = value;
    if (!min || value.compare(min) < 0) min = value;
  }
  return { max, min };
}

function sameExtremes(current: DayExtremes, next: { max: Decimal | null; min: Decimal | null }): boolean {
  const same = (a: Decimal | null, b: Decimal | null) => (a === null ? b === null : b !== null && a.compare(b) === 0);
  return same(current.max, next.max) && same(current.min, next.min);
}

/** Max and min over the day's current COMPLETED items, every GSI shard. */
async function extremesOnIndex(date: string, deps: KpiAggregatorDeps): Promise<{ max: Decimal | null; min: Decimal | null }> {
  const completed = createTripService(deps.db, deps.tableName).entities.completed;
  const shards = await Promise.all(allDayShards().map((day_shard) => completed.query.byPickupDay({ pickup_date: date, day_shard }).go({ pages: "all", attributes: ["fare_amount"] })));
  return extend({ max: null, min: null }, shards.flatMap(({ data }) => data.map((trip) => Decimal.parseNumber(String(trip.fare_amount)))));
}

const SECONDS_PER_DAY = 86_400;

/** The day's end plus the retention: every item of a day expires together, whatever its last write. */
export function expiresAt(date: string, ttlDays: number): number {
  return Date.parse(`${date}T00:00:00Z`) / 1000 + (1 + ttlDays) * SECONDS_PER_DAY;
}
