/**
 * The dashboard API's contract: request parameters and response bodies of
 * GET /api/kpis/live, GET /api/kpis/daily and GET /api/health, validated with zod on both sides
 * (the Lambda handlers parse requests, the page parses responses). Money is decimal text with
 * exactly two places, never a JSON number a browser would turn into a binary float. The KPI
 * fields come from the registry (kpi-registry.ts).
 * Imports nothing that needs Node: the page bundles this module.
 */
import { z } from "zod/v4";
import { isoDate, type KpiValue, liveFieldsShape, nightlyRowSchema } from "../kpi/registry.js";

export { addDays, isCalendarDay } from "../domain/datetime.js";

/** Most days one /api/kpis/daily request may span: a quarter, 31 + 31 + 31. */
export const MAX_DAILY_RANGE_DAYS = 93;

/** Days from `from` to `to`, both included; 0 or less when `to` comes first. */
export function daysInRange(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

export { isoDate, KPI_DISPLAY, money } from "../kpi/registry.js";

export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export const liveQuery = z.strictObject({ date: isoDate.optional() });

/** Both ends, or neither: then the answer is the latest days with data (see latestRange). */
export const dailyQuery = z.strictObject({ from: isoDate.optional(), to: isoDate.optional() }).check((ctx) => {
  const { from, to } = ctx.value;
  if (from === undefined || to === undefined) {
    if (from !== to)
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        path: [from === undefined ? "from" : "to"],
        message: "give both from and to, or neither for the latest days with data",
      });
    return;
  }
  const days = daysInRange(from, to);
  if (days < 1)
    ctx.issues.push({ code: "custom", input: ctx.value, path: ["to"], message: "to must not be before from" });
  else if (days > MAX_DAILY_RANGE_DAYS)
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      path: ["to"],
      message: `at most ${MAX_DAILY_RANGE_DAYS} days per request, got ${days}`,
    });
});

/** A nightly row: every registered field (null: the row was written before the field existed). */
export const dailyKpiRow = nightlyRowSchema();

/** A nightly row and when it was computed (its object's last write), `YYYY-MM-DD HH:MM:SS` UTC. */
export const dailyRow = (dailyKpiRow as unknown as z.ZodObject).extend({
  computed_at: z.string(),
}) as unknown as z.ZodType<z.infer<typeof dailyKpiRow> & { computed_at: string }>;

/** ISO 4217 code of the stage's money figures (KPI_CURRENCY, default USD). */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as USD");

const liveStatus = z.object({
  pickup_date: isoDate,
  /** A stream shard or the index is behind: the figures are not final yet. */
  settling: z.boolean(),
  /** The newest applied change, `YYYY-MM-DD HH:MM:SS` UTC. */
  as_of: z.string().nullable(),
  freshness_s: z.number().nonnegative().nullable(),
});

/** A live row: how current it is, and the registry's live fields (a nightly-only field has no key here). */
export const liveKpiRow = liveStatus.extend(liveFieldsShape()) as unknown as z.ZodType<
  z.infer<typeof liveStatus> & { [field: string]: KpiValue | boolean }
>;

/** A day whose live items expired (TTL): the nightly rows serve it. */
export const expiredLiveDay = z.strictObject({ pickup_date: isoDate, expired: z.literal(true) });

export const liveResponse = z.object({
  date: isoDate,
  /** null: no completed trip that day (yet). */
  kpi: z.union([liveKpiRow, expiredLiveDay]).nullable(),
  /** The server's clock, so the page can age `freshness_s` between refreshes. */
  served_at: z.string(),
  currency: currencyCode,
});

export const dailyResponse = z.object({
  from: isoDate,
  to: isoDate,
  /** One row per day that has a nightly row, in date order; days without one are absent. */
  days: z.array(dailyRow),
  /** The range's figure per KPI (dashboard-kpis.ts rangeTotals), exact; null without rows. */
  totals: z.record(
    z.string(),
    z.union([z.string().regex(/^\d+(\.\d+)?$/, "expected decimal text"), z.number().int().nonnegative()]).nullable(),
  ),
  currency: currencyCode,
  /** Only when asked without a range: the latest day with a nightly row, null when there is none. */
  latest_day: isoDate.nullable().optional(),
});

/**
 * GET /api/run, only on `pnpm start --serve`: the local run's progress and its pending and
 * anomaly counts (counted when the run has drained; null before). AWS has no such route.
 */
export const runStatusResponse = z.object({
  done: z.boolean(),
  pending: z.number().int().nonnegative().nullable(),
  anomalies: z.number().int().nonnegative().nullable(),
  /** The run's latest pickup day with completed trips, once known. */
  latest_day: isoDate.nullable(),
});

export const healthResponse = z.strictObject({ status: z.literal("ok"), time: z.string() });

export const errorResponse = z.strictObject({
  /** A stable code: bad_request, not_found, internal_error. */
  error: z.string(),
  detail: z.string(),
});

export type LiveQuery = z.infer<typeof liveQuery>;
export type DailyQuery = z.infer<typeof dailyQuery>;
export type LiveResponse = z.infer<typeof liveResponse>;
export type DailyResponse = z.infer<typeof dailyResponse>;
export type RunStatusResponse = z.infer<typeof runStatusResponse>;
export type HealthResponse = z.infer<typeof healthResponse>;
export type ErrorResponse = z.infer<typeof errorResponse>;

/** One line per problem, `field: message`, for the 400 body's detail. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "query"}: ${issue.message}`)
    .join("; ");
}

export type QueryParse<T> = { ok: true; value: T } | { ok: false; detail: string };

/** Query parameters as API Gateway passes them (absent when there are none). */
export function parseQuery<S extends z.ZodType>(
  schema: S,
  params: Record<string, string | undefined> | null | undefined,
): QueryParse<z.output<S>> {
  const result = schema.safeParse(params ?? {});
  return result.success ? { ok: true, value: result.data } : { ok: false, detail: describeIssues(result.error) };
}
