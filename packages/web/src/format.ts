/** Display formatting. Money arrives as decimal text and stays text: no float ever rounds it. */

/** "274393.88" → "274,393.88". */
export function formatMoney(text: string): string {
  const [whole = "", fraction] = text.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

export function formatCount(count: number): string {
  return formatMoney(String(count));
}

/** A KPI value as shown: counts and decimals grouped, "–" where the row has none. */
export function formatKpi(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || typeof value === "boolean") return "–";
  return typeof value === "number" ? formatCount(value) : formatMoney(value);
}

/** "updated 4 s ago", "updated 3 min ago", "updated 2 h ago". */
export function formatFreshness(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `updated ${s} s ago`;
  if (s < 7200) return `updated ${Math.floor(s / 60)} min ago`;
  return `updated ${Math.floor(s / 3600)} h ago`;
}
