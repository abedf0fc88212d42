import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DASHBOARD_KPIS } from "@trip-pipeline/core/dashboard/kpis";
import type { DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { KPI_FIELDS, NIGHTLY_ONLY_FIELDS } from "@trip-pipeline/core/kpi/registry";
import { kpiLine, metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { type BlobStore, FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createDailyHandler } from "../src/api-daily.js";
import { handler as health } from "../src/api-health.js";
import { createLiveHandler } from "../src/api-live.js";
import { apiLiveConfig, parseConfig } from "../src/config.js";

/** An HTTP API (payload 2.0) GET as API Gateway hands it to Lambda. */
function get(path: string, query?: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: `GET ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: {},
    ...(query && { queryStringParameters: query }),
    requestContext: { requestId: "req-1", http: { method: "GET", path } } as APIGatewayProxyEventV2["requestContext"],
    isBase64Encoded: false,
  };
}

const DAY: DailyKpi = {
  pickup_date: "2024-05-25",
  // Every registered field (a count 1, a decimal 1.00), the figures below over them.
  ...Object.fromEntries(KPI_FIELDS.map((field) => [field.name, field.type === "count" ? 1 : "1.00"])),
  total_fare: "274393.88",
  trip_count: 4999,
  average_fare: "54.89",
  max_fare: "406.94",
  min_fare: "3.00",
  total_tip: "5120.35",
  total_distance: "15000.20",
  average_duration_minutes: "17.42",
  median_fare: "41.00",
};
/** The day's live figures: the nightly row without its nightly-only fields. */
const LIVE_DAY = Object.fromEntries(
  Object.entries(DAY).filter(([name]) => !NIGHTLY_ONLY_FIELDS.some((field) => field.name === name)),
) as DailyKpi;
const NOW = new Date("2024-05-25T12:00:04Z");

let folder: string;
let metrics: BlobStore;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "api-"));
  metrics = new FolderBlobStore(folder);
});
afterEach(() => rm(folder, { recursive: true, force: true }));

const body = (result: { body: string }) => JSON.parse(result.body);
const NO_TOTALS = Object.fromEntries(DASHBOARD_KPIS.map((kpi) => [kpi.name, null]));
const daily = (store: BlobStore) => ({ metrics: store, currency: "EUR", now: () => NOW });
/** Writes a day's nightly object and dates it, as S3's LastModified would. */
async function putDay(kpi: DailyKpi, at = "2024-05-26T01:04:05Z"): Promise<void> {
  await metrics.put(metricsKey(kpi.pickup_date), `${kpiLine(kpi)}\n`);
  await utimes(join(folder, ...metricsKey(kpi.pickup_date).split("/")), new Date(at), new Date(at));
}

describe("GET /api/kpis/daily", () => {
  test.each([
    ["impossible month and a word", { from: "2024-13-01", to: "nope" }, /from: .*calendar date.*to: .*calendar date/],
    ["30 February", { from: "2024-02-30", to: "2024-03-01" }, /from: /],
    ["a start without an end", { from: "2024-05-01" }, /to: give both from and to, or neither/],
    ["an end without a start", { to: "2024-05-01" }, /from: give both from and to, or neither/],
    ["to before from", { from: "2024-05-02", to: "2024-05-01" }, /to: to must not be before from/],
    ["94 days", { from: "2024-01-01", to: "2024-04-03" }, /at most 93 days per request, got 94/],
    ["an unknown parameter", { from: "2024-05-01", to: "2024-05-02", limit: "5" }, /limit/],
    ["a timestamp instead of a day", { from: "2024-05-01T00:00:00Z", to: "2024-05-02" }, /from: /],
  ])("%s: 400 with {error, detail}", async (_, query, detail) => {
    const result = await createDailyHandler(daily(metrics))(get("/api/kpis/daily", query));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: "bad_request", detail: expect.stringMatching(detail) });
  });

  test("93 days is allowed; the stored rows come back in order with the time each was computed, money as text, days without a row absent, exact totals", async () => {
    const other = {
      ...DAY,
      pickup_date: "2024-03-01",
      total_fare: "10.10",
      trip_count: 1,
      average_fare: "10.10",
      max_fare: "10.10",
      min_fare: "10.10",
      median_fare: "10.10",
    };
    await putDay(DAY, "2024-05-26T01:04:05Z");
    await putDay(other, "2024-03-02T01:00:59Z");
    await putDay({ ...DAY, pickup_date: "2024-06-01" }, "2024-06-02T01:30:00Z");
    const result = await createDailyHandler(daily(metrics))(
      get("/api/kpis/daily", { from: "2024-03-01", to: "2024-06-01" }),
    );
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ "cache-control": "no-store" });
    expect(body(result)).toEqual({
      from: "2024-03-01",
      to: "2024-06-01",
      currency: "EUR",
      days: [
        { ...other, computed_at: "2024-03-02 01:00:59" },
        { ...DAY, computed_at: "2024-05-26 01:04:05" },
        { ...DAY, pickup_date: "2024-06-01", computed_at: "2024-06-02 01:30:00" },
      ],
      // 274393.88 * 2 + 10.10; (548787.76 + 10.10) / 9999 = 54.8853...; a median does not add up over days.
      totals: {
        total_fare: "548797.86",
        trip_count: 9999,
        average_fare: "54.89",
        max_fare: "406.94",
        min_fare: "3.00",
        total_tip: "15361.05",
        total_distance: "45000.60",
        average_duration_minutes: "17.42",
        median_fare: null,
      },
    });
    expect(result.body).toContain('"total_fare":"274393.88"');
  });

  test("without a range: the latest days with data, at most 30, and which day is the latest", async () => {
    for (const day of ["2024-03-01", "2024-05-20", "2024-05-24", "2024-05-25"])
      await putDay({ ...DAY, pickup_date: day });
    const result = body(await createDailyHandler(daily(metrics))(get("/api/kpis/daily")));
    expect(result).toMatchObject({ from: "2024-04-26", to: "2024-05-25", latest_day: "2024-05-25" });
    expect(result.days.map((day: DailyKpi) => day.pickup_date)).toEqual(["2024-05-20", "2024-05-24", "2024-05-25"]);
  });

  test("without a range, a short history is the whole range; an empty bucket is today with no rows", async () => {
    expect(body(await createDailyHandler(daily(metrics))(get("/api/kpis/daily")))).toEqual({
      from: "2024-05-25",
      to: "2024-05-25",
      days: [],
      totals: NO_TOTALS,
      currency: "EUR",
      latest_day: null,
    });
    for (const day of ["2024-05-23", "2024-05-24"]) await putDay({ ...DAY, pickup_date: day });
    expect(body(await createDailyHandler(daily(metrics))(get("/api/kpis/daily")))).toMatchObject({
      from: "2024-05-23",
      to: "2024-05-24",
      latest_day: "2024-05-24",
    });
  });

  test("a failing store answers 500 without its message or stack", async () => {
    const broken: BlobStore = {
      ...metrics,
      list: async () =>
        Promise.reject(new Error("AccessDenied: arn:aws:s3:::secret-bucket at S3.list (/var/task/index.js:1:1)")),
    };
    const result = await createDailyHandler(daily(broken))(
      get("/api/kpis/daily", { from: "2024-05-01", to: "2024-05-31" }),
    );
    expect(result.statusCode).toBe(500);
    expect(body(result)).toEqual({ error: "internal_error", detail: expect.stringContaining("req-1") });
    expect(result.body).not.toMatch(/secret-bucket|index\.js|AccessDenied|at /);
  });

  test("a malformed metrics line is left out (the reader logs it), never shown as a figure", async () => {
    await metrics.put(metricsKey(DAY.pickup_date), '{"pickup_date":"2024-05-25","total_fare":"lots"}\n');
    await metrics.put(metricsKey("2024-05-26"), `${kpiLine({ ...DAY, pickup_date: "2024-05-26" })}\n`);
    const result = await createDailyHandler(daily(metrics))(
      get("/api/kpis/daily", { from: "2024-05-25", to: "2024-05-26" }),
    );
    expect(result.statusCode).toBe(200);
    expect(body(result).days.map((day: DailyKpi) => day.pickup_date)).toEqual(["2024-05-26"]);
  });
});

describe("GET /api/kpis/live", () => {
  const asked: string[] = [];
  const live = createLiveHandler({
    now: () => NOW,
    currency: "USD",
    live: async (date) => {
      asked.push(date);
      return date === DAY.pickup_date
        ? { ...LIVE_DAY, settling: false, as_of: "2024-05-25 12:00:00", freshness_s: 4 }
        : null;
    },
  });

  test.each([
    ["a word", { date: "today" }],
    ["an impossible day", { date: "2023-02-29" }],
    ["an unknown parameter", { day: "2024-05-25" }],
  ])("%s: 400 with {error, detail}", async (_, query) => {
    const result = await live(get("/api/kpis/live", query));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: "bad_request", detail: expect.any(String) });
  });

  test("the day's row with as_of and freshness_s; no date means today, UTC", async () => {
    expect(body(await live(get("/api/kpis/live", { date: "2024-05-25" })))).toEqual({
      date: "2024-05-25",
      kpi: { ...LIVE_DAY, settling: false, as_of: "2024-05-25 12:00:00", freshness_s: 4 },
      served_at: "2024-05-25 12:00:04",
      currency: "USD",
    });
    asked.length = 0;
    expect(body(await live(get("/api/kpis/live")))).toMatchObject({ date: "2024-05-25" });
    expect(asked).toEqual(["2024-05-25"]);
  });

  test("a day without completed trips is kpi null, not an error", async () => {
    const result = await live(get("/api/kpis/live", { date: "2024-05-26" }));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ date: "2024-05-26", kpi: null, served_at: "2024-05-25 12:00:04", currency: "USD" });
  });
});

test("GET /api/health answers ok", async () => {
  const result = await health(get("/api/health"));
  expect(result.statusCode).toBe(200);
  expect(body(result)).toMatchObject({ status: "ok" });
});

describe("the stage's currency (KPI_CURRENCY)", () => {
  test("USD when unset; a code as given; anything else fails naming the variable", () => {
    const currencyOf = (env: Record<string, string>) =>
      parseConfig("apiLive", apiLiveConfig, { TRIP_TABLE_NAME: "t", ...env }).currency;
    expect(currencyOf({})).toBe("USD");
    expect(currencyOf({ KPI_CURRENCY: "EUR" })).toBe("EUR");
    expect(() => currencyOf({ KPI_CURRENCY: "euro" })).toThrow("KPI_CURRENCY must be an ISO 4217 code such as USD");
  });
});
