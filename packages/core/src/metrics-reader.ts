/**
 * Reads the nightly KPI rows back from `metrics/year=YYYY/month=MM/day=DD/` for a date range:
 * the objects the Glue job (Spark: `part-00000-<uuid>.c000.json`) or the local KPI job
 * (`part-00000.jsonl`) wrote, one JSON line per day. Money is taken from the line's text, never
 * through a binary float, and returned as decimal text with two places.
 */
import { z } from "zod/v4";
import type { BlobStore } from "./blob-store.js";
import { addDays, daysInRange } from "./dashboard-api.js";
import { Decimal } from "./decimal.js";
import type { DailyKpi } from "./kpi.js";
import { METRICS_PREFIX } from "./pipeline-spec.js";

const MONEY_FIELDS = ["total_fare", "average_fare", "max_fare", "min_fare"] as const;
/** A money field's JSON number, captured as text before JSON.parse can round it. */
const MONEY_NUMBER = new RegExp(`("(?:${MONEY_FIELDS.join("|")})"\\s*:\\s*)(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`, "g");
const DAY_KEY = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/(?:[^/]*\/)*part-[^/]*$/;

const storedRow = z.object({
  pickup_date: z.string(),
  total_fare: z.string(),
  trip_count: z.coerce.number().int().nonnegative(),
  average_fare: z.string(),
  max_fare: z.string(),
  min_fare: z.string(),
});

export class MetricsFormatError extends Error {
  override name = "MetricsFormatError";
}

/** The stored rows for the days from `from` to `to` (both included, `YYYY-MM-DD`), in date order. */
export async function readDailyKpis(store: BlobStore, from: string, to: string): Promise<DailyKpi[]> {
  const days = daysInRange(from, to);
  if (days < 1) return [];
  // One listing per month in the range instead of a request per day.
  const months = new Set<string>();
  for (let i = 0; i < days; i += 1) months.add(addDays(from, i).slice(0, 7));
  const keys = (await Promise.all([...months].map((month) => store.list(`${METRICS_PREFIX}year=${month.slice(0, 4)}/month=${month.slice(5)}/`)))).flat();
  const inRange = keys.filter((key) => {
    const match = DAY_KEY.exec(key);
    const day = match && `${match[1]}-${match[2]}-${match[3]}`;
    return day !== null && day >= from && day <= to;
  });
  const bodies = await Promise.all(inRange.map(async (key) => ({ key, body: (await store.get(key)) ?? "" })));
  const rows = new Map<string, DailyKpi>();
  for (const { key, body } of bodies) {
    for (const line of body.split("\n")) {
      if (line.trim() === "") continue;
      const row = parseLine(line, key);
      if (row.pickup_date >= from && row.pickup_date <= to) rows.set(row.pickup_date, row);
    }
  }
  return [...rows.values()].sort((a, b) => (a.pickup_date < b.pickup_date ? -1 : 1));
}

function parseLine(line: string, key: string): DailyKpi {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.replace(MONEY_NUMBER, '$1"$2"'));
  } catch {
    throw new MetricsFormatError(`${key}: not a JSON line`);
  }
  const result = storedRow.safeParse(parsed);
  if (!result.success) throw new MetricsFormatError(`${key}: ${result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  const row = result.data;
  const money = (field: (typeof MONEY_FIELDS)[number]) => {
    try {
      return Decimal.parse(row[field]).toFixed(2);
    } catch {
      throw new MetricsFormatError(`${key}: ${field} is not a non-negative decimal: ${row[field]}`);
    }
  };
  return {
    pickup_date: row.pickup_date,
    total_fare: money("total_fare"),
    trip_count: row.trip_count,
    average_fare: money("average_fare"),
    max_fare: money("max_fare"),
    min_fare: money("min_fare"),
  };
}
