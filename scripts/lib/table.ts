/** Plain-text tables for the CLIs: columns padded to their widest cell, the last one left ragged. */
import type { DailyKpi } from "@trip-pipeline/core/kpi";

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

/** Daily KPIs, one line per pickup day (pnpm start, pnpm kpis). */
export function kpiTable(kpis: readonly DailyKpi[]): string {
  return formatTable([
    ["pickup_date", "trips", "total_fare", "average_fare", "max_fare", "min_fare"],
    ...kpis.map((k) => [k.pickup_date, String(k.trip_count), k.total_fare, k.average_fare, k.max_fare, k.min_fare]),
  ]);
}
