/**
 * Reads the daily KPI rows back from the bucket (metrics-layout.ts), for any date range: the
 * nightly Glue job's output in S3 or the local KPI job's in a folder. Every line is validated
 * against the KPI registry; decimals stay exact text (a JSON number such as
 * 12345678901234567890.10 would not survive JSON.parse), with exactly their type's places as the
 * jobs write them. Rows written before a field existed read with that field null.
 */
import { daysBetween, formatDateTime, isCalendarDay } from "../domain/datetime.js";
import type { DailyKpi } from "../kpi/daily-kpis.js";
import { nightlyRowSchema } from "../kpi/registry.js";
import { createLogger } from "../platform/logger.js";
import { METRICS_PREFIX } from "../platform/pipeline-spec.js";
import type { BlobStore } from "../store/blob-store.js";
import { metricsDayOf, metricsDayPrefix } from "./kpi-rows-layout.js";

export type KpiRowReason = "invalid_json" | "invalid_kpi_row" | "date_mismatch" | "duplicate_day";

/** A line that was left out, and why; the other days are read as usual. */
export interface InvalidKpiRow {
  key: string;
  /** 1-based line number in the object. */
  line: number;
  reason: KpiRowReason;
  message: string;
}

export interface ReadKpiOptions {
  /** Called for every line left out; by default each one is logged as a warning. */
  onInvalid?: (row: InvalidKpiRow) => void;
}

// Every registered field; one added after a row was written reads as null (kpi-registry.ts).
const kpiRow = nightlyRowSchema();

// A JSON string (skipped whole, so digits inside it stay put) or a JSON number (captured).
const STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** JSON.parse with every number kept as its source text. */
function parseExact(line: string): unknown {
  return JSON.parse(
    line.replace(STRING_OR_NUMBER, (token, number?: string) => (number === undefined ? token : `"${number}"`)),
  );
}

function parseLine(
  line: string,
  day: string,
): { ok: true; kpi: DailyKpi } | { ok: false; reason: KpiRowReason; message: string } {
  let value: unknown;
  try {
    value = parseExact(line);
  } catch {
    return { ok: false, reason: "invalid_json", message: "line is not JSON" };
  }
  const parsed = kpiRow.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: "invalid_kpi_row", message: `${issue.path.join(".") || "row"}: ${issue.message}` };
  }
  if (parsed.data.pickup_date !== day)
    return {
      ok: false,
      reason: "date_mismatch",
      message: `pickup_date ${parsed.data.pickup_date} is in the folder of ${day}`,
    };
  return { ok: true, kpi: parsed.data };
}

function checkRange(from: string, to: string): void {
  for (const day of [from, to])
    if (!isCalendarDay(day)) throw new RangeError(`expected a YYYY-MM-DD calendar day, got ${JSON.stringify(day)}`);
  if (from > to) throw new RangeError(`the range ends (${to}) before it starts (${from})`);
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i += 1;
  return a.slice(0, i);
}

let defaultLogger: ReturnType<typeof createLogger> | undefined;
function logInvalid(row: InvalidKpiRow): void {
  defaultLogger ??= createLogger("metrics-reader");
  defaultLogger.warn(row, "KPI row left out");
}

/** A day's nightly row and when its object was written (S3's LastModified), `YYYY-MM-DD HH:MM:SS` UTC. */
export interface NightlyRow {
  kpi: DailyKpi;
  computed_at: string;
}

/**
 * The KPI rows of the pickup days from `from` through `to` (inclusive, `YYYY-MM-DD`), sorted by
 * day, each with the time its object was written; days without a row are absent. A day with
 * more than one valid row is left out whole (reported as duplicate_day): picking one would be a guess.
 */
export async function readNightlyRows(
  store: BlobStore,
  from: string,
  to: string,
  options: ReadKpiOptions = {},
): Promise<NightlyRow[]> {
  checkRange(from, to);
  const onInvalid = options.onInvalid ?? logInvalid;
  // One listing for the range: the longest prefix both ends share (a month, a year, or more).
  const keys = (await store.list(commonPrefix(metricsDayPrefix(from), metricsDayPrefix(to)))).filter((key) => {
    const day = metricsDayOf(key);
    return day !== undefined && day >= from && day <= to;
  });
  const objects = await Promise.all(keys.map(async (key) => ({ key, object: await store.getObject(key) })));

  const rows = new Map<string, (NightlyRow & { key: string; line: number })[]>();
  for (const { key, object } of objects) {
    if (!object) continue;
    const day = metricsDayOf(key)!;
    const computed_at = formatDateTime(object.lastModified);
    object.body.split("\n").forEach((text, index) => {
      if (text.trim() === "") return;
      const result = parseLine(text, day);
      if (!result.ok) {
        onInvalid({ key, line: index + 1, reason: result.reason, message: result.message });
        return;
      }
      rows.set(day, [...(rows.get(day) ?? []), { kpi: result.kpi, computed_at, key, line: index + 1 }]);
    });
  }

  const nightly: NightlyRow[] = [];
  for (const day of [...rows.keys()].sort()) {
    const found = rows.get(day)!;
    if (found.length === 1) nightly.push({ kpi: found[0]!.kpi, computed_at: found[0]!.computed_at });
    else
      for (const { key, line } of found)
        onInvalid({
          key,
          line,
          reason: "duplicate_day",
          message: `${found.length} rows for ${day}; the day is left out`,
        });
  }
  return nightly;
}

/** readNightlyRows without the times. */
export async function readDailyKpis(
  store: BlobStore,
  from: string,
  to: string,
  options: ReadKpiOptions = {},
): Promise<DailyKpi[]> {
  return (await readNightlyRows(store, from, to, options)).map((row) => row.kpi);
}

/** Every pickup day that has a KPI object, sorted (to show all of a local run's output). */
export async function metricsDays(store: BlobStore): Promise<string[]> {
  const days = (await store.list(METRICS_PREFIX)).map(metricsDayOf).filter((day) => day !== undefined);
  return [...new Set(days)].sort();
}

/** A range's rows, the days without one, and the lines left out: what `pnpm kpis` prints. */
export interface KpiRangeReport {
  from: string;
  to: string;
  kpis: DailyKpi[];
  missingDays: string[];
  invalid: InvalidKpiRow[];
}

export async function readKpiRange(store: BlobStore, from: string, to: string): Promise<KpiRangeReport> {
  const invalid: InvalidKpiRow[] = [];
  const kpis = await readDailyKpis(store, from, to, { onInvalid: (row) => invalid.push(row) });
  const found = new Set(kpis.map((kpi) => kpi.pickup_date));
  return { from, to, kpis, missingDays: daysBetween(from, to).filter((day) => !found.has(day)), invalid };
}
