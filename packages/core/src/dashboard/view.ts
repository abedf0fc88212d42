/**
 * The dashboard's view lives in the URL (`?date=YYYY-MM-DD&from=YYYY-MM-DD&to=YYYY-MM-DD`), so it
 * can be shared and reloaded: the page reads and writes it, `pnpm start --serve` prints one.
 * An address without any opens on the latest day with data (latestRange, from the API); missing
 * parts of a partial one default to today (UTC) and the 30 days ending on the day.
 */
import { addDays, daysInRange, isCalendarDay, MAX_DAILY_RANGE_DAYS, utcDay } from "./api.js";

export interface View {
  date: string;
  from: string;
  to: string;
}

export const DEFAULT_RANGE_DAYS = 30;

/** The view a query string asks for, and one message per part that had to be replaced. */
export function viewFromQuery(search: string, now: Date): { view: View; problems: string[] } {
  const params = new URLSearchParams(search);
  const problems: string[] = [];
  const day = (name: keyof View, fallback: string) => {
    const value = params.get(name);
    if (value === null || value === "") return fallback;
    if (isCalendarDay(value)) return value;
    problems.push(
      `"${name}=${value}" in the address is not a calendar date (YYYY-MM-DD); showing ${fallback} instead.`,
    );
    return fallback;
  };
  const date = day("date", utcDay(now));
  const to = day("to", date);
  const from = day("from", addDays(to, -(DEFAULT_RANGE_DAYS - 1)));
  return { view: { date, from, to }, problems };
}

export function queryOf(view: View): string {
  return `?${new URLSearchParams({ date: view.date, from: view.from, to: view.to })}`;
}

/** Why the API would refuse this range, in words, or undefined when it is fine. */
export function rangeProblem(view: View): string | undefined {
  const days = daysInRange(view.from, view.to);
  if (days < 1) return `The range ends (${view.to}) before it starts (${view.from}).`;
  if (days > MAX_DAILY_RANGE_DAYS)
    return `The range has ${days} days; at most ${MAX_DAILY_RANGE_DAYS} can be shown at once.`;
  return undefined;
}

/**
 * The view for the days that have data: the latest of them, and the range from the first of
 * them up to it, at most DEFAULT_RANGE_DAYS long. Without data, today alone.
 */
export function latestView(daysWithData: readonly string[], today: string): View {
  const to = daysWithData.at(-1) ?? today;
  const earliest = addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  const first = daysWithData[0] ?? to;
  // biome-ignore lint/complexity/useMathMinMax: ISO day strings, which Math.max would turn into NaN
  return { date: to, from: first > earliest ? first : earliest, to };
}

export const PRESETS = {
  today: "Today",
  last7: "Last 7 days",
  last30: "Last 30 days",
  monthToDate: "Month to date",
} as const;
export type Preset = keyof typeof PRESETS;

/** A preset's view ending on `anchor` (today, or the latest day with data when today has none). */
export function presetView(preset: Preset, anchor: string): View {
  const from = {
    today: anchor,
    last7: addDays(anchor, -6),
    last30: addDays(anchor, -(DEFAULT_RANGE_DAYS - 1)),
    monthToDate: `${anchor.slice(0, 8)}01`,
  }[preset];
  return { date: anchor, from, to: anchor };
}
