/**
 * The live KPI read model: a pickup day's aggregate items combined into the nightly job's row
 * shape (money as text, half-up to 2 places only here), plus how current they are. It never
 * throws on what the items say and never shows figures that contradict each other: while a
 * stream shard or the index is behind, the sums are shown and max/min only where they agree
 * with them, and the day is marked `settling`.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Decimal } from "./decimal.js";
import { dayTotals, isRetired, readDayAggregates, type DayAggregates } from "./kpi-aggregates.js";
import type { DailyKpi } from "./kpi.js";

export type LiveKpi = Omit<DailyKpi, "average_fare" | "max_fare" | "min_fare"> & {
  /** Null while no trip is counted (a settling day may briefly count none, or fewer than none) or the total is below zero. */
  average_fare: string | null;
  /** Null while settling and not consistent with the sums. */
  max_fare: string | null;
  min_fare: string | null;
  /** The shards or the index disagree for now: the figures are not final yet. */
  settling: boolean;
  /** The stream time of the newest change applied to the day, `YYYY-MM-DD HH:MM:SS` UTC. */
  as_of: string | null;
  /** Seconds from as_of to `now`: how old the newest applied change is. */
  freshness_s: number | null;
};

/** A day whose live items expired (DynamoDB TTL): only the nightly rows describe it. */
export interface ExpiredLiveDay {
  pickup_date: string;
  expired: true;
}

export type LiveDay = LiveKpi | ExpiredLiveDay;

export function isExpired(day: LiveDay | null): day is ExpiredLiveDay {
  return day !== null && "expired" in day;
}

/** A day's live KPIs; null when the day has no completed trip. */
export async function liveKpis(db: DynamoDBDocumentClient, tableName: string, date: string, now: Date): Promise<LiveDay | null> {
  return combineDay(date, await readDayAggregates(db, tableName, date), now);
}

export function combineDay(date: string, day: DayAggregates, now: Date): LiveDay | null {
  if (isRetired(day)) return { pickup_date: date, expired: true };
  const { total, count } = dayTotals(day.parts);
  const asOf = day.parts.reduce<string | null>((newest, part) => (part.asOf !== null && (newest === null || part.asOf > newest) ? part.asOf : newest), null);
  const { max, min, unsettledSince } = day.extremes ?? { max: null, min: null, unsettledSince: null };
  if (count === 0 && total.sign === 0 && max === null && unsettledSince === null) return null;
  // Fares are never negative: a negative total is a removal applied before its insert (settling), not an average.
  const average = count > 0 && total.sign >= 0 ? total.dividedByToFixed(count, 2) : null;
  // Extremes agree with the sums when every counted trip lies between them: min <= average <= max.
  const consistent = count > 0 && max !== null && min !== null && min.compare(max) <= 0 && max.times(count).compare(total) >= 0 && min.times(count).compare(total) <= 0;
  const settling = unsettledSince !== null || !consistent;
  return {
    pickup_date: date,
    total_fare: total.toFixed(2),
    trip_count: count,
    average_fare: average,
    max_fare: consistent ? max.toFixed(2) : null,
    min_fare: consistent ? min.toFixed(2) : null,
    settling,
    as_of: asOf,
    freshness_s: asOf === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(`${asOf.replace(" ", "T")}Z`)) / 1000)),
  };
}
