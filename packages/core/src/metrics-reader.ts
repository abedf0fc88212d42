/**
 * The nightly KPI rows, read back from `metrics/year=YYYY/month=MM/day=DD/part-00000.jsonl`
 * (the Glue job's and the local job's output) through the BlobStore port. Money stays decimal
 * text: the lines hold JSON numbers, which JSON.parse would turn into binary floats.
 */
import type { BlobStore } from "./blob-store.js";
import { Decimal } from "./decimal.js";
import type { DailyKpi } from "./kpi.js";
import { metricsKey } from "./local/kpi-job.js";

const MONEY = ["total_fare", "average_fare", "max_fare", "min_fare"] as const;
const MONEY_NUMBER = new RegExp(`"(${MONEY.join("|")})"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`, "g");

/** Every day from `from` to `to` (inclusive, YYYY-MM-DD) that has a KPI row, in date order. */
export async function readDailyKpis(store: BlobStore, from: string, to: string): Promise<DailyKpi[]> {
  const rows: DailyKpi[] = [];
  for (const day of daysBetween(from, to)) {
    const body = await store.get(metricsKey(day));
    if (body === undefined) continue;
    for (const line of body.split("\n")) if (line.trim() !== "") rows.push(parseKpiLine(line));
  }
  return rows;
}

export function parseKpiLine(line: string): DailyKpi {
  const row = JSON.parse(line.replace(MONEY_NUMBER, '"$1":"$2"')) as Record<string, unknown>;
  const money = (name: (typeof MONEY)[number]) => Decimal.parseNumber(String(row[name])).toFixed(2);
  return {
    pickup_date: String(row.pickup_date),
    total_fare: money("total_fare"),
    trip_count: Number(row.trip_count),
    average_fare: money("average_fare"),
    max_fare: money("max_fare"),
    min_fare: money("min_fare"),
  };
}

/** The date `days` days after `date` (YYYY-MM-DD, UTC; negative goes back). */
export function shiftDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}
