/** Plain-text tables for the CLIs: columns padded to their widest cell, the last one left ragged. */
import type { DailyKpi } from "@trip-pipeline/core/kpi";
import { KPI_COLUMNS } from "@trip-pipeline/core/kpi-registry";

export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** A summary's reason counts as one cell: `code=n code=n`, or `-` when there are none. */
export function reasonsCell(reasons: Partial<Record<string, number>>): string {
  return (
    Object.entries(reasons)
      .map(([code, n]) => `${code}=${n}`)
      .join(" ") || "-"
  );
}

/** A KPI value as a cell: `-` where the row has none (a nightly-only field of a live row, an old row's new field). */
export function kpiCell(value: unknown): string {
  return value === null || value === undefined ? "-" : String(value);
}

/** The registry's columns of a row, from pickup_date on. */
export function kpiCells(kpi: { readonly [field: string]: unknown }): string[] {
  return KPI_COLUMNS.map((column) => kpiCell(kpi[column]));
}

/** Daily KPIs, one line per pickup day (pnpm kpis): the registry's columns. */
export function kpiTable(kpis: readonly DailyKpi[]): string {
  return formatTable([[...KPI_COLUMNS], ...kpis.map(kpiCells)]);
}
