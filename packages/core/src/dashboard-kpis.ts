/**
 * The KPIs the dashboard shows, in order, and what the page and the API derive from them: the
 * tiles, the table's columns, the totals of a range, the change against the previous day and the
 * CSV export. Every one of those reads this list, so a KPI added here appears everywhere.
 * Imports nothing that needs Node: the page bundles this module.
 */
import { Decimal } from "./decimal.js";
import type { DailyKpi } from "./kpi.js";

export type KpiName = Exclude<keyof DailyKpi, "pickup_date">;

export interface DashboardKpi {
  name: KpiName;
  label: string;
  /** money: decimal text with 2 places, in the stage's currency; count: a whole number. */
  type: "money" | "count";
  /** How a day's figure is made, and so how a range's total is: see rangeTotals. */
  aggregation: "sum" | "count" | "mean" | "max" | "min";
  /** The trip column it aggregates: a mean whose source also has a sum is that sum over the trips. */
  source: string;
  /** Kept live as trips complete; otherwise only the nightly job computes it. */
  live: boolean;
}

export const DASHBOARD_KPIS: readonly DashboardKpi[] = [
  { name: "total_fare", label: "Total fare", type: "money", aggregation: "sum", source: "fare_amount", live: true },
  { name: "trip_count", label: "Trips", type: "count", aggregation: "count", source: "trip_id", live: true },
  { name: "average_fare", label: "Average fare", type: "money", aggregation: "mean", source: "fare_amount", live: true },
  { name: "max_fare", label: "Max fare", type: "money", aggregation: "max", source: "fare_amount", live: true },
  { name: "min_fare", label: "Min fare", type: "money", aggregation: "min", source: "fare_amount", live: true },
];

/** A KPI's value as the API sends it: money as decimal text, counts as numbers; null when there is none. */
export type KpiValue = string | number | null;
export type KpiTotals = Record<string, KpiValue>;

const moneyOf = (row: DailyKpi, name: KpiName) => Decimal.parse(String(row[name]));
const countOf = (rows: readonly DailyKpi[]) => rows.reduce((sum, row) => sum + row.trip_count, 0);

/**
 * One figure per KPI over a range's nightly rows, exact: sums add the exact daily figures; a mean
 * is its source's range sum over the range's trips (without such a sum, each day's mean weighted
 * by its trips), half-up once at the end; max and min are the range's extremes. Null for every
 * KPI when there are no rows.
 */
export function rangeTotals(rows: readonly DailyKpi[], kpis: readonly DashboardKpi[] = DASHBOARD_KPIS): KpiTotals {
  const trips = countOf(rows);
  const total = (kpi: DashboardKpi): KpiValue => {
    if (rows.length === 0) return null;
    if (kpi.type === "count") return rows.reduce((sum, row) => sum + Number(row[kpi.name]), 0);
    const values = rows.map((row) => moneyOf(row, kpi.name));
    switch (kpi.aggregation) {
      case "max":
        return values.reduce((a, b) => (b.compare(a) > 0 ? b : a)).toFixed(2);
      case "min":
        return values.reduce((a, b) => (b.compare(a) < 0 ? b : a)).toFixed(2);
      case "mean": {
        const sum = kpis.find((other) => other.aggregation === "sum" && other.source === kpi.source);
        const weighted = (row: DailyKpi) => (sum ? moneyOf(row, sum.name) : moneyOf(row, kpi.name).times(row.trip_count));
        return rows.reduce((acc, row) => acc.plus(weighted(row)), Decimal.ZERO).dividedByToFixed(trips, 2);
      }
      default:
        return values.reduce((a, b) => a.plus(b), Decimal.ZERO).toFixed(2);
    }
  };
  return Object.fromEntries(kpis.map((kpi) => [kpi.name, total(kpi)]));
}

/**
 * "+12.5%" / "-3.0%" / "0.0%": how `current` compares with `previous`, exact and half-up to one
 * decimal; null when there is nothing to compare with (no previous figure, or one of zero).
 */
export function percentChange(current: KpiValue, previous: KpiValue): string | null {
  if (current === null || previous === null) return null;
  const before = Decimal.parseNumber(String(previous));
  if (before.sign === 0) return null;
  const after = Decimal.parseNumber(String(current));
  // Both at one scale, so their units divide: tenths of a percent = difference * 1000 / previous.
  const difference = after.minus(before).units;
  const base = before.plus(after.minus(after)).units;
  const numerator = (difference < 0n ? -difference : difference) * 1000n;
  const magnitude = base < 0n ? -base : base;
  const tenths = numerator / magnitude + ((numerator % magnitude) * 2n >= magnitude ? 1n : 0n);
  const sign = tenths === 0n ? "" : (difference < 0n) !== (base < 0n) ? "-" : "+";
  return `${sign}${tenths / 10n}.${tenths % 10n}%`;
}

/** A column heading with its unit: "Total fare (USD)", "Trips". */
export function kpiHeading(kpi: DashboardKpi, currency: string): string {
  return kpi.type === "money" ? `${kpi.label} (${currency})` : kpi.label;
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The CSV export of a range: a header, then one line per day shown, money with exactly two
 * decimals and no grouping (spreadsheets read it as a number), the time each row was computed.
 */
export function dailyCsv(rows: readonly (DailyKpi & { computed_at: string })[], currency: string, kpis: readonly DashboardKpi[] = DASHBOARD_KPIS): string {
  const header = ["Pickup day (UTC)", ...kpis.map((kpi) => kpiHeading(kpi, currency)), "Computed at (UTC)"];
  const lines = rows.map((row) => [row.pickup_date, ...kpis.map((kpi) => String(row[kpi.name])), row.computed_at]);
  return [header, ...lines].map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
}
