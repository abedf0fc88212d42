/**
 * GET /api/kpis/daily?from=YYYY-MM-DD&to=YYYY-MM-DD: the nightly rows from metrics/ (at most 93
 * days), each with the time it was computed, and the range's totals. Without from and to: the
 * latest days with data (latestView) and which day is the latest, so a page opens on data.
 */

import { dailyQuery, dailyResponse, parseQuery, utcDay } from "@trip-pipeline/core/dashboard/api";
import { rangeTotals } from "@trip-pipeline/core/dashboard/kpis";
import { latestView } from "@trip-pipeline/core/dashboard/view";
import { metricsDays, readNightlyRows } from "@trip-pipeline/core/nightly/kpi-rows-reader";
import type { BlobStore } from "@trip-pipeline/core/store/blob-store";
import { apiRoute, badRequest, respond } from "./api-http.js";
import { apiDailyConfig, parseConfig } from "./config.js";
import { blobStore, type DepsSource, LAMBDA, lazily, type Platform } from "./environment.js";

export interface DailyDeps {
  metrics: BlobStore;
  /** The stage's currency code, labelling the money figures. */
  currency: string;
  /** Today, for a bucket without any nightly row yet. */
  now(): Date;
}

export function createDailyHandler(source: DepsSource<DailyDeps>, platform: Platform = LAMBDA) {
  const deps = lazily(source);
  return apiRoute(
    "apiDaily",
    async (event) => {
      const query = parseQuery(dailyQuery, event.queryStringParameters);
      if (!query.ok) return badRequest(query.detail);
      const { metrics, currency, now } = await deps();
      let { from, to } = query.value;
      let latest: { latest_day: string | null } | undefined;
      if (from === undefined || to === undefined) {
        const days = await metricsDays(metrics);
        ({ from, to } = latestView(days, utcDay(now())));
        latest = { latest_day: days.at(-1) ?? null };
      }
      const rows = await readNightlyRows(metrics, from, to);
      const days = rows.map((row) => ({ ...row.kpi, computed_at: row.computed_at }));
      return respond(200, dailyResponse.parse({ from, to, days, totals: rangeTotals(days), currency, ...latest }));
    },
    platform,
  );
}

export function handlerFor(platform: Platform) {
  return createDailyHandler(async () => {
    const { bucket, currency } = parseConfig("apiDaily", apiDailyConfig, process.env);
    return { metrics: blobStore(bucket), currency, now: () => new Date() };
  }, platform);
}

export const handler = handlerFor(LAMBDA);
