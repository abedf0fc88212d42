/**
 * Plain-text tables for the CLIs: columns padded to their widest cell, the last one left ragged.
 * A column of numbers (a `-` may stand for none) is right-aligned and its numbers grouped by
 * thousands (`13,526.73`), as the progress lines and the dashboard show them.
 */
import type { DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { KPI_COLUMNS } from "@trip-pipeline/core/kpi/registry";

const NUMBER = /^-?\d+(\.\d+)?$/;

/** `13526.73` -> `13,526.73`: the digits before the point grouped, the decimals as they are. */
export function groupDigits(number: string): string {
  return number.replace(
    /^(-?)(\d+)/,
    (_, sign: string, digits: string) => sign + digits.replace(/\B(?=(\d{3})+$)/g, ","),
  );
}

/** A count for a sentence: `1234` -> `1,234`. */
export const count = (n: number): string => n.toLocaleString("en-US");

export function formatTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  const numeric = header!.map(
    (_, i) => body.some((row) => NUMBER.test(row[i]!)) && body.every((row) => NUMBER.test(row[i]!) || row[i] === "-"),
  );
  const cells = rows.map((row, r) =>
    row.map((cell, i) => (r > 0 && numeric[i] && NUMBER.test(cell) ? groupDigits(cell) : cell)),
  );
  const widths = header!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const pad = (cell: string, i: number, last: boolean) =>
    numeric[i] ? cell.padStart(widths[i]!) : last ? cell : cell.padEnd(widths[i]!);
  return `${cells.map((row) => row.map((cell, i) => pad(cell, i, i === row.length - 1)).join("  ")).join("\n")}\n`;
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
