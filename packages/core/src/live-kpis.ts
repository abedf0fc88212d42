/**
 * The live KPI read model: a pickup day's aggregate items combined into the nightly job's row
 * shape (money as text, half-up to 2 places only here), plus how current they are.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Decimal } from "./decimal.js";
import { readDayAggregates, type DayAggregates } from "./kpi-aggregates.js";
import type { DailyKpi } from "./kpi.js";

export type LiveKpi = DailyKpi & {
  /** The stream time of the newest change applied to the day, `YYYY-MM-DD HH:MM:SS` UTC. */
  as_of: string | null;
  /** Seconds from as_of to `now`: how old the newest applied change is. */
  freshness_s: number | null;
};

/** A day's live KPIs; null when the day has no completed trip. */
export async function liveKpis(db: DynamoDBDocumentClient, tableName: string, date: string, now: Date): Promise<LiveKpi | null> {
  return combineDay(date, await readDayAggregates(db, tableName, date), now);
}

export function combineDay(date: string, day: DayAggregates, now: Date): LiveKpi | null {
  let total = Decimal.ZERO;
  let count = 0;
  let asOf: string | null = null;
  for (const shard of day.shards) {
    total = total.plus(shard.total);
    count += shard.count;
    if (shard.asOf !== null && (asOf === null || shard.asOf > asOf)) asOf = shard.asOf;
  }
  if (count <= 0) return null;
  const { max, min } = day.extremes ?? {};
  // The aggregator writes a day's extremes before its sums, so counted trips always have them.
  if (!max || !min) throw new Error(`live KPIs of ${date}: ${count} trips counted but no max/min stored`);
  return {
    pickup_date: date,
    total_fare: total.toFixed(2),
    trip_count: count,
    average_fare: total.dividedByToFixed(count, 2),
    max_fare: max.toFixed(2),
    min_fare: min.toFixed(2),
    as_of: asOf,
    freshness_s: asOf === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(`${asOf.replace(" ", "T")}Z`)) / 1000)),
  };
}
