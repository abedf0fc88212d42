/**
 * The live KPI read model: a pickup day's aggregate items combined into the registry's live
 * fields by the nightly job's aggregation (kpi.ts kpiValues), plus how current they are. It never
 * throws on what the items say and never shows figures that contradict each other: while a
 * stream shard or the index is behind, the sums are shown and max/min only where they agree
 * with them, and the day is marked `settling`.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Decimal } from "../domain/decimal.js";
import { kpiValues } from "../kpi/daily-kpis.js";
import { type KpiValue, LIVE_EXTREME_SOURCE, LIVE_FIELDS, ROW_KEY } from "../kpi/registry.js";
import { type DayAggregates, dayTotals, isRetired, readDayAggregates } from "./aggregate-reads.js";

/**
 * The live fields of the KPI registry (a nightly-only field has no key), then how current they
 * are. Sums and counts are signed while settling; a mean is null while no trip is counted or its
 * sum is below zero; max and min are null while settling and not consistent with the sums; a sum
 * a part written before its field existed never kept is null until the day expires.
 */
export interface LiveFigures {
  [ROW_KEY]: string;
  [field: string]: KpiValue | boolean;
  /** The shards or the index disagree for now: the figures are not final yet. */
  settling: boolean;
}

export type LiveKpi = LiveFigures & {
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
export async function liveKpis(
  db: DynamoDBDocumentClient,
  tableName: string,
  date: string,
  now: Date,
): Promise<LiveDay | null> {
  return combineDay(date, await readDayAggregates(db, tableName, date), now);
}

export function combineDay(date: string, day: DayAggregates, now: Date): LiveDay | null {
  if (isRetired(day)) return { pickup_date: date, expired: true };
  const { sums, count } = dayTotals(day.parts);
  const total = sums.get(LIVE_EXTREME_SOURCE) ?? Decimal.ZERO;
  const asOf = day.parts.reduce<string | null>(
    (newest, part) => (part.asOf !== null && (newest === null || part.asOf > newest) ? part.asOf : newest),
    null,
  );
  const { max, min, unsettledSince } = day.extremes ?? { max: null, min: null, unsettledSince: null };
  if (count === 0 && total.sign === 0 && max === null && unsettledSince === null) return null;
  // Extremes agree with the sums when every counted trip lies between them: min <= average <= max.
  const consistent =
    count > 0 &&
    max !== null &&
    min !== null &&
    min.compare(max) <= 0 &&
    max.times(count).compare(total) >= 0 &&
    min.times(count).compare(total) <= 0;
  const settling = unsettledSince !== null || !consistent;
  const extremes = (value: Decimal | null) =>
    new Map(consistent && value !== null ? [[LIVE_EXTREME_SOURCE, value]] : []);
  return {
    ...kpiValues(date, { count, sums, max: extremes(max), min: extremes(min), values: new Map() }, LIVE_FIELDS),
    settling,
    as_of: asOf,
    freshness_s:
      asOf === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(`${asOf.replace(" ", "T")}Z`)) / 1000)),
  };
}
