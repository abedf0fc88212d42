import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FolderBlobStore, type BlobStore } from "@trip-pipeline/core";
import type { DailyKpi } from "@trip-pipeline/core/kpi";
import { KPI_FIELDS, NIGHTLY_ONLY_FIELDS } from "@trip-pipeline/core/kpi-registry";
import { kpiLine, metricsKey } from "@trip-pipeline/core/metrics-layout";
import { createDailyHandler } from "../src/api-daily.js";
import { handler as health } from "../src/api-health.js";
import { createLiveHandler } from "../src/api-live.js";

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
const LIVE_DAY = Object.fromEntries(Object.entries(DAY).filter(([name]) => !NIGHTLY_ONLY_FIELDS.some((field) => field.name === name))) as DailyKpi;
const NOW = new Date("2024-05-25T12:00:04Z");

let folder: string;
let metrics: BlobStore;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "api-"));
  metrics = new FolderBlobStore(folder);
});
afterEach(() => rm(folder, { recursive: true, force: true }));

const body = (result: { body: string }) => JSON.parse(result.body);

describe("GET /api/kpis/daily", () => {
  test.each([
    ["impossible month and a word", { from: "2024-13-01", to: "nope" }, /from: .*calendar date.*to: .*calendar date/],
    ["30 February", { from: "2024-02-30", to: "2024-03-01" }, /from: /],
    ["a missing end", { from: "2024-05-01" }, /to: /],
    ["no parameters", undefined, /from: .*to: /],
    ["to before from", { from: "2024-05-02", to: "2024-05-01" }, /to: to must not be before from/],
    ["94 days", { from: "2024-01-01", to: "2024-04-03" }, /at most 93 days per request, got 94/],
    ["an unknown parameter", { from: "2024-05-01", to: "2024-05-02", limit: "5" }, /limit/],
    ["a timestamp instead of a day", { from: "2024-05-01T00:00:00Z", to: "2024-05-02" }, /from: /],
  ])("%s: 400 with {error, detail}", async (_, query, detail) => {
    const result = await createDailyHandler({ metrics })(get("/api/kpis/daily", query));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: "bad_request", detail: expect.stringMatching(detail) });
  });

  test("93 days is allowed; the stored rows come back in order, money as text, days without a row absent", async () => {
    const other = { ...DAY, pickup_date: "2024-03-01", total_fare: "10.10", trip_count: 1, average_fare: "10.10", max_fare: "10.10", min_fare: "10.10", median_fare: "10.10" };
    await metrics.put(metricsKey(DAY.pickup_date), `${kpiLine(DAY)}\n`);
    await metrics.put(metricsKey(other.pickup_date), `${kpiLine(other)}\n`);
    await metrics.put(metricsKey("2024-06-01"), `${kpiLine({ ...DAY, pickup_date: "2024-06-01" })}\n`);
    const result = await createDailyHandler({ metrics })(get("/api/kpis/daily", { from: "2024-03-01", to: "2024-06-01" }));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ "cache-control": "no-store" });
    expect(body(result)).toEqual({ from: "2024-03-01", to: "2024-06-01", days: [other, DAY, { ...DAY, pickup_date: "2024-06-01" }] });
    expect(result.body).toContain('"total_fare":"274393.88"');
  });

  test("a failing store answers 500 without its message or stack", async () => {
    const broken: BlobStore = { ...metrics, list: async () => Promise.reject(new Error("AccessDenied: arn:aws:s3:::secret-bucket at S3.list (/var/task/index.js:1:1)")) };
    const result = await createDailyHandler({ metrics: broken })(get("/api/kpis/daily", { from: "2024-05-01", to: "2024-05-31" }));
    expect(result.statusCode).toBe(500);
    expect(body(result)).toEqual({ error: "internal_error", detail: expect.stringContaining("req-1") });
    expect(result.body).not.toMatch(/secret-bucket|index\.js|AccessDenied|at /);
  });

  test("a malformed metrics line is left out (the reader logs it), never shown as a figure", async () => {
    await metrics.put(metricsKey(DAY.pickup_date), '{"pickup_date":"2024-05-25","total_fare":"lots"}\n');
    await metrics.put(metricsKey("2024-05-26"), `${kpiLine({ ...DAY, pickup_date: "2024-05-26" })}\n`);
    const result = await createDailyHandler({ metrics })(get("/api/kpis/daily", { from: "2024-05-25", to: "2024-05-26" }));
    expect(result.statusCode).toBe(200);
    expect(body(result).days.map((day: DailyKpi) => day.pickup_date)).toEqual(["2024-05-26"]);
  });
});

describe("GET /api/kpis/live", () => {
  const asked: string[] = [];
  const live = createLiveHandler({
    now: () => NOW,
    live: async (date) => {
      asked.push(date);
      return date === DAY.pickup_date ? { ...LIVE_DAY, settling: false, as_of: "2024-05-25 12:00:00", freshness_s: 4 } : null;
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
    });
    asked.length = 0;
    expect(body(await live(get("/api/kpis/live")))).toMatchObject({ date: "2024-05-25" });
    expect(asked).toEqual(["2024-05-25"]);
  });

  test("a day without completed trips is kpi null, not an error", async () => {
    const result = await live(get("/api/kpis/live", { date: "2024-05-26" }));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ date: "2024-05-26", kpi: null, served_at: "2024-05-25 12:00:04" });
  });
});

test("GET /api/health answers ok", async () => {
  const result = await health(get("/api/health"));
  expect(result.statusCode).toBe(200);
  expect(body(result)).toMatchObject({ status: "ok" });
});
