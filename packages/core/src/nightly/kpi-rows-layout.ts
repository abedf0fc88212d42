/**
 * Where the daily KPI rows live in the bucket and how a row is written: one folder per pickup
 * day, `metrics/year=YYYY/month=MM/day=DD/`, holding JSON Lines objects, money as JSON numbers
 * with exactly two decimals. Both KPI jobs (the local one and the Glue job,
 * packages/glue/src/trip_metrics/writer.py) write one `part-00000.jsonl` per day: the layout of
 * golden/contract.json, which pytest checks too. Readers still accept any `part-*` object, so
 * days written by an older Glue job (`part-<n>-<uuid>.c000.json`) stay readable.
 */
import { CONTRACT } from "../domain/contract.js";
import type { DailyKpi } from "../kpi/daily-kpis.js";
import { KPI_FIELDS, ROW_KEY } from "../kpi/registry.js";
import { METRICS_PREFIX } from "../platform/pipeline-spec.js";

export function metricsDayPrefix(day: string): string {
  const [yyyy, mm, dd] = day.split("-") as [string, string, string];
  return (
    METRICS_PREFIX + CONTRACT.metrics.day_path_template.replace("{yyyy}", yyyy).replace("{mm}", mm).replace("{dd}", dd)
  );
}

/** The object both KPI jobs write for a day. */
export function metricsKey(day: string): string {
  return `${metricsDayPrefix(day)}${CONTRACT.metrics.file_name}`;
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

/** One KPI line, the registry's fields in order; decimals stay text all the way into the JSON number. */
export function kpiLine(kpi: DailyKpi): string {
  const values = KPI_FIELDS.map((field) => `${JSON.stringify(field.name)}:${kpi[field.name] ?? "null"}`);
  return `{${JSON.stringify(ROW_KEY)}:${JSON.stringify(kpi[ROW_KEY])},${values.join(",")}}`;
}
