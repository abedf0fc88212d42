/**
 * The single-table layout of TripData, modelled with ElectroDB. Key strings are exact
 * (`casing: "none"`): RAW#START#<pickup>#<variant>, RAW#END#<dropoff>#<variant>, COMPLETED#<pickup>,
 * all under the trip's own partition so one Query returns everything known about a trip. The
 * variant is a digest of the event's values: duplicates share a key, two events of one instant
 * with different values are two items (the matcher keeps the least; see trip.ts).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { type Attribute, CustomAttributeType, Entity, Service } from "electrodb";
import { dateOf } from "../domain/datetime.js";
import { END_EXTRAS, START_EXTRAS } from "../domain/events.js";
import { KPI_EXPIRY_FILTER, TRIP_TABLE } from "../platform/pipeline-spec.js";

/**
 * A DynamoDB number kept exact: written from decimal text, read back (the document client
 * wraps numbers) as decimal text.
 */
const exactNumber = <R extends boolean = false>(required?: R) =>
  ({
    // Typed as decimal text for callers; stored as a NumberValue so DynamoDB gets an exact N.
    type: CustomAttributeType<string>("string"),
    required: (required ?? false) as R,
    set: (value?: string) => (value === undefined ? undefined : (NumberValue.from(value) as unknown as string)),
    get: (value?: unknown) => (value === undefined ? undefined : String((value as { value?: string }).value ?? value)),
  }) as const satisfies Attribute;

const text = <R extends boolean = false>(required?: R) =>
  ({ type: "string", required: (required ?? false) as R }) as const satisfies Attribute;

const optionalText = text();
const optionalNumber = exactNumber();

function extraAttributes<T extends Record<string, "integer" | "decimal" | "datetime">>(extras: T) {
  return Object.fromEntries(
    Object.entries(extras).map(([name, kind]) => [name, kind === "datetime" ? optionalText : optionalNumber]),
  ) as { [K in keyof T]: T[K] extends "datetime" ? typeof optionalText : typeof optionalNumber };
}

const startExtras = extraAttributes(START_EXTRAS);
const endExtras = extraAttributes(END_EXTRAS);

const tripId = { type: "string", required: true, readOnly: true } as const satisfies Attribute;
const variant = { type: "string", required: true, readOnly: true } as const satisfies Attribute;
/** A whole number read back as a plain number (the document client wraps numbers). */
const wholeNumber = {
  type: CustomAttributeType<number>("number"),
  get: (value?: unknown) =>
    value === undefined ? undefined : Number(String((value as { value?: string }).value ?? value)),
} as const satisfies Attribute;
/** TTL in epoch seconds. */
const expiresAt = { ...wholeNumber, field: TRIP_TABLE.ttlAttribute } as const satisfies Attribute;

function primaryIndex<C extends string>(sortTemplate: string, ...composite: C[]) {
  return {
    pk: { field: TRIP_TABLE.partitionKey, composite: ["trip_id"], template: "${trip_id}", casing: "none" },
    sk: { field: TRIP_TABLE.sortKey, composite, template: sortTemplate, casing: "none" },
  } as const;
}

export const rawStartEntity = new Entity({
  model: { entity: "RawStart", version: "1", service: "trips" },
  attributes: {
    trip_id: tripId,
    event_type: { type: ["start"] as const, required: true, default: "start", readOnly: true },
    pickup_datetime: { ...text(true), readOnly: true },
    variant,
    estimated_fare: exactNumber(true),
    trip_status: { type: ["pending"] as const, required: true, default: "pending" },
    expires_at: expiresAt,
    ...startExtras,
  },
  indexes: { byTrip: primaryIndex("RAW#START#${pickup_datetime}#${variant}", "pickup_datetime", "variant") },
});

export const rawEndEntity = new Entity({
  model: { entity: "RawEnd", version: "1", service: "trips" },
  attributes: {
    trip_id: tripId,
    event_type: { type: ["end"] as const, required: true, default: "end", readOnly: true },
    dropoff_datetime: { ...text(true), readOnly: true },
    variant,
    fare_amount: exactNumber(true),
    trip_status: { type: ["pending"] as const, required: true, default: "pending" },
    expires_at: expiresAt,
    ...endExtras,
  },
  indexes: { byTrip: primaryIndex("RAW#END#${dropoff_datetime}#${variant}", "dropoff_datetime", "variant") },
});

/** Write shard of a completed trip on the per-day GSI: a stable FNV-1a hash of the trip id. */
export function dayShardOf(tripIdValue: string, shards: number = TRIP_TABLE.completedByDay.shards): string {
  let hash = 0x811c9dc5;
  for (const char of tripIdValue) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(hash % shards).padStart(2, "0");
}

export const completedTripEntity = new Entity({
  model: { entity: "CompletedTrip", version: "1", service: "trips" },
  attributes: {
    trip_id: tripId,
    pickup_datetime: { ...text(true), readOnly: true },
    dropoff_datetime: text(true),
    estimated_fare: exactNumber(true),
    fare_amount: exactNumber(true),
    trip_status: { type: ["completed"] as const, required: true, default: "completed" },
    pickup_date: {
      type: "string",
      readOnly: true,
      watch: ["pickup_datetime"],
      set: (_: unknown, item: { pickup_datetime?: string }) =>
        item.pickup_datetime ? dateOf(item.pickup_datetime) : undefined,
    },
    day_shard: {
      type: "string",
      readOnly: true,
      watch: ["trip_id"],
      set: (_: unknown, item: { trip_id?: string }) => (item.trip_id ? dayShardOf(item.trip_id) : undefined),
    },
    ...startExtras,
    ...endExtras,
  },
  indexes: {
    byTrip: primaryIndex("COMPLETED#${pickup_datetime}", "pickup_datetime"),
    byPickupDay: {
      index: TRIP_TABLE.completedByDay.name,
      pk: {
        field: TRIP_TABLE.completedByDay.partitionKey,
        composite: ["pickup_date", "day_shard"],
        template: "DAY#${pickup_date}#${day_shard}",
        casing: "none",
      },
      sk: {
        field: TRIP_TABLE.completedByDay.sortKey,
        composite: ["pickup_datetime", "trip_id"],
        template: "${pickup_datetime}#${trip_id}",
        casing: "none",
      },
    },
  },
});

export function createTripService(client: DynamoDBDocumentClient, table: string) {
  return new Service(
    { rawStart: rawStartEntity, rawEnd: rawEndEntity, completed: completedTripEntity },
    { client, table },
  );
}
export type TripService = ReturnType<typeof createTripService>;

/** All day shards of the per-day GSI, for readers that list a whole day. */
export function allDayShards(): string[] {
  return Array.from({ length: TRIP_TABLE.completedByDay.shards }, (_, i) => String(i).padStart(2, "0"));
}

/**
 * Live KPI aggregates (see kpi-aggregator.ts), in the same table under `KPI#<pickup date>`:
 * - `SHARD#<shardId>#<part>`: the exact signed sums (one per live summed source column of the KPI
 *   registry) and count of the COMPLETED changes of one DynamoDB stream shard applied through this part, and the set of that shard's sequence
 *   numbers every change of the day in which is applied (`applied`, sequence-ranges.ts). A
 *   shard's set grows by about one range per batch, so it is split over parts of bounded size:
 *   only the newest part is written. No TTL: the day's parts go when its EXTREMES item expires.
 * - `EXTREMES`: max and min over the day's current completed trips, whether they were checked
 *   against the sums (`unsettled_since`), a version for optimistic writes, and the day's only TTL.
 * - `EXPIRED`: written once the day's live items expired; the day is then served from the nightly
 *   rows. Kept (a few bytes a day) so a late change cannot restart the day from zero.
 */
const kpiDay = { ...text(true), readOnly: true } as const;
const kpiPartition = {
  field: TRIP_TABLE.partitionKey,
  composite: ["pickup_date"],
  template: "KPI#${pickup_date}",
  casing: "none",
} as const;

export const KPI_PREFIX = "KPI#";
/** The sort key prefix of a day's shard parts. */
export const KPI_SHARD_PREFIX = "SHARD#";
export const KPI_EXTREMES_KEY = KPI_EXPIRY_FILTER.dynamodb.Keys.sort_key.S[0];
/** Parts are numbered with this many digits, so text order is number order. */
const PART_DIGITS = 6;

export function kpiPartNumber(part: number): string {
  return String(part).padStart(PART_DIGITS, "0");
}

export function kpiPartKey(shardId: string, part: number): string {
  return `${KPI_SHARD_PREFIX}${shardId}#${kpiPartNumber(part)}`;
}

/** Exact decimal text by source column: DynamoDB numbers would round beyond 38 significant digits. */
const exactSums = {
  type: CustomAttributeType<Record<string, string>>("any"),
  required: true,
} as const satisfies Attribute;

export const kpiShardEntity = new Entity({
  model: { entity: "KpiShard", version: "3", service: "trips" },
  attributes: {
    pickup_date: kpiDay,
    shard_id: { ...text(true), readOnly: true },
    /** The part's number, zero-padded (kpiPartKey). */
    part: { ...text(true), readOnly: true },
    /** The exact signed sum of each live summed source column (kpi-registry.ts LIVE_SUM_SOURCES). */
    sums: exactSums,
    trip_count: wholeNumber,
    /** Sequence ranges (sequence-ranges.ts): sequence numbers exceed what a DynamoDB number holds. */
    applied: text(true),
    version: wholeNumber,
    /** The newest applied change's stream time, `YYYY-MM-DD HH:MM:SS` UTC. */
    as_of: optionalText,
  },
  indexes: {
    byDay: {
      pk: kpiPartition,
      sk: {
        field: TRIP_TABLE.sortKey,
        composite: ["shard_id", "part"],
        template: "SHARD#${shard_id}#${part}",
        casing: "none",
      },
    },
  },
});

export const kpiExtremesEntity = new Entity({
  model: { entity: "KpiExtremes", version: "2", service: "trips" },
  attributes: {
    pickup_date: kpiDay,
    max_fare: exactNumber(),
    min_fare: exactNumber(),
    /** Set while the extremes disagree with the day's sums (a shard or the index behind), `YYYY-MM-DD HH:MM:SS` UTC. */
    unsettled_since: optionalText,
    version: wholeNumber,
    expires_at: expiresAt,
  },
  indexes: {
    byDay: { pk: kpiPartition, sk: { field: TRIP_TABLE.sortKey, composite: [], template: "EXTREMES", casing: "none" } },
  },
});

export const kpiExpiredEntity = new Entity({
  model: { entity: "KpiExpired", version: "1", service: "trips" },
  attributes: {
    pickup_date: kpiDay,
    /** When the aggregator saw the day's live items expire, `YYYY-MM-DD HH:MM:SS` UTC. */
    expired_at: text(true),
  },
  indexes: {
    byDay: { pk: kpiPartition, sk: { field: TRIP_TABLE.sortKey, composite: [], template: "EXPIRED", casing: "none" } },
  },
});
