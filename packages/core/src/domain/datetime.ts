/** Trip timestamps: exactly `YYYY-MM-DD HH:MM:SS`, UTC, and a real calendar instant. */
const DATETIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

export type DateTimeCheck = { ok: true } | { ok: false; code: "invalid_datetime_format" | "invalid_calendar_datetime" };

export function checkTripDateTime(text: string): DateTimeCheck {
  const match = DATETIME_PATTERN.exec(text);
  if (!match) return { ok: false, code: "invalid_datetime_format" };
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const instant = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2024-02-30 over into March and years 0-99 into 19xx: a real instant formats back to the same text.
  return formatDateTime(instant) === text ? { ok: true } : { ok: false, code: "invalid_calendar_datetime" };
}

/** The UTC day a validated timestamp falls on (`YYYY-MM-DD`). */
export function dateOf(datetime: string): string {
  return datetime.slice(0, 10);
}

/** Validated timestamps compare correctly as text because the format is fixed-width. */
export function compareDateTimes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function formatDateTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

const DAY_MS = 86_400_000;

/** Whole seconds from one validated timestamp to another (negative when `to` comes first). */
export function secondsBetween(from: string, to: string): number {
  return (Date.parse(`${to.replace(" ", "T")}Z`) - Date.parse(`${from.replace(" ", "T")}Z`)) / 1000;
}

/** A real calendar day written exactly `YYYY-MM-DD` (the form of --END_DATE and pickup_date). */
export function isCalendarDay(text: string): boolean {
  // Only exactly YYYY-MM-DD followed by " 00:00:00" can pass the timestamp's anchored pattern.
  return checkTripDateTime(`${text} 00:00:00`).ok;
}

/** The day `days` days after (or before, when negative) a calendar day. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `from` through `to` inclusive, oldest first; empty when `to` is before `from`. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}
