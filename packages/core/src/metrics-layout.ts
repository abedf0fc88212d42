/**
 * Where the daily KPI rows live in the bucket and how a row is written: one folder per pickup
 * day, `metrics/year=YYYY/month=MM/day=DD/`, holding JSON Lines objects, money as JSON numbers
 * with exactly two decimals. The local KPI job writes `part-00000.jsonl`; the Glue job (Spark,
 * packages/glue/src/trip_metrics/writer.py) writes `part-<n>-<uuid>.c000.json` in the same folders.
 */
import type { DailyKpi } from "./kpi.js";
import { METRICS_PREFIX } from "./pipeline-spec.js";

export function metricsDayPrefix(day: string): string {
  const [year, month, date] = day.split("-");
  return `${METRICS_PREFIX}year=${year}/month=${month}/day=${date}/`;
}

/** The object the local KPI job writes for a day. */
export function metricsKey(day: string): string {
  return `${metricsDayPrefix(day)}part-00000.jsonl`;
}

const DATA_OBJECT = new RegExp(`^${METRICS_PREFIX}year=(\\d{4})/month=(\\d{2})/day=(\\d{2})/part-[^/]*$`);

/**
 * The pickup day of a KPI data object, or undefined for anything else under metrics/ (Spark's
 * `_SUCCESS`, its `.spark-staging-*` and `_temporary` folders, stray files).
 */
export function metricsDayOf(key: string): string | undefined {
  const match = DATA_OBJECT.exec(key);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

/** One KPI line; money stays decimal text all the way into the JSON number. */
export function kpiLine(kpi: DailyKpi): string {
  return `{"pickup_date":${JSON.stringify(kpi.pickup_date)},"total_fare":${kpi.total_fare},"trip_count":${kpi.trip_count},"average_fare":${kpi.average_fare},"max_fare":${kpi.max_fare},"min_fare":${kpi.min_fare}}`;
}
