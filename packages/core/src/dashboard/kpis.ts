/**
 * What the dashboard derives from the KPI registry (kpi-registry.ts): the tiles, the table's
 * columns, the totals of a range, the change against the previous day and the CSV export. Every
 * one of those reads the registry's list, so a registered KPI appears everywhere.
 * Imports nothing that needs Node: the page bundles this module.
 */
import { Decimal } from "../domain/decimal.js";
import { KPI_FIELDS, KPI_TYPES, type KpiField, type KpiValue, ROW_KEY, tripCount } from "../kpi/registry.js";

export type { KpiValue } from "../kpi/registry.js";
export type DashboardKpi = KpiField;

/** Every registered KPI, in registry order. */
export const DASHBOARD_KPIS: readonly DashboardKpi[] = KPI_FIELDS;

/** Rows as the API sends them: the day, then one value per KPI (absent or null where not known). */
export type KpiRowLike = object;
export type KpiTotals = Record<string, KpiValue>;

/** A row's value of a KPI; null where the row has none (a field added after the row was written). */
export function kpiValueOf(row: KpiRowLike, name: string): KpiValue {
  return (row as Record<string, KpiValue | undefined>)[name] ?? null;
}

const placesOf = (kpi: DashboardKpi) => KPI_TYPES[kpi.type].places;
const decimalOf = (row: KpiRowLike, name: string) => Decimal.parse(String(kpiValueOf(row, name)));

/**
 * One figure per KPI over a range's nightly rows, exact: sums add the exact daily figures; a mean
 * is its source's range sum over the range's trips (without such a sum, each day's mean weighted
 * by its trips), half-up once at the end; max and min are the range's extremes. A median does
 * not add up over days: null, as is every figure some row lacks and every figure of no rows.
 */
export function rangeTotals(rows: readonly KpiRowLike[], kpis: readonly DashboardKpi[] = DASHBOARD_KPIS): KpiTotals {
  const trips = rows.reduce((sum: number, row) => sum + tripCount(row as Record<string, unknown>), 0);
  const total = (kpi: DashboardKpi): KpiValue => {
    if (rows.length === 0 || kpi.aggregation === "median" || rows.some((row) => kpiValueOf(row, kpi.name) === null))
      return null;
    if (kpi.type === "count") return rows.reduce((sum: number, row) => sum + Number(kpiValueOf(row, kpi.name)), 0);
    const values = rows.map((row) => decimalOf(row, kpi.name));
    switch (kpi.aggregation) {
      case "max":
        return values.reduce((a, b) => (b.compare(a) > 0 ? b : a)).toFixed(placesOf(kpi));
      case "min":
        return values.reduce((a, b) => (b.compare(a) < 0 ? b : a)).toFixed(placesOf(kpi));
      case "mean": {
        if (trips === 0) return null;
        const sum = kpis.find(
          (other) => other.aggregation === "sum" && other.source === kpi.source && other.type === kpi.type,
        );
        const weighted = (row: KpiRowLike) =>
          sum && kpiValueOf(row, sum.name) !== null
            ? decimalOf(row, sum.name)
            : decimalOf(row, kpi.name).times(tripCount(row as Record<string, unknown>));
        return rows
          .reduce<Decimal>((acc, row) => acc.plus(weighted(row)), Decimal.ZERO)
          .dividedByToFixed(trips, placesOf(kpi));
      }
      default:
        return values.reduce((a, b) => a.plus(b), Decimal.ZERO).toFixed(placesOf(kpi));
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
  const sign = tenths === 0n ? "" : difference < 0n !== base < 0n ? "-" : "+";
  return `${sign}${tenths / 10n}.${tenths % 10n}%`;
}

/** A column heading with its unit: "Total fare (USD)" (the stage's currency), "Total distance (mi)", "Trips". */
export function kpiHeading(kpi: DashboardKpi, currency: string): string {
  if (kpi.type === "count") return kpi.label;
  return `${kpi.label} (${kpi.type === "money" ? currency : KPI_TYPES[kpi.type].unit})`;
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The CSV export of a range: a header, then one line per day shown, decimals exactly as the API
 * sends them (money with two) and no grouping (spreadsheets read them as numbers), empty where a
 * row has no figure, and the time each row was computed.
 */
export function dailyCsv(
  rows: readonly (KpiRowLike & { computed_at: string })[],
  currency: string,
  kpis: readonly DashboardKpi[] = DASHBOARD_KPIS,
): string {
  const header = ["Pickup day (UTC)", ...kpis.map((kpi) => kpiHeading(kpi, currency)), "Computed at (UTC)"];
  const lines = rows.map((row) => [
    String(kpiValueOf(row, ROW_KEY)),
    ...kpis.map((kpi) => String(kpiValueOf(row, kpi.name) ?? "")),
    row.computed_at,
  ]);
  return `${[header, ...lines].map((cells) => cells.map(csvCell).join(",")).join("\r\n")}\r\n`;
}
