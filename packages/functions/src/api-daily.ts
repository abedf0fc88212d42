/** GET /api/kpis/daily?from=YYYY-MM-DD&to=YYYY-MM-DD: the nightly rows from metrics/, at most 93 days. */
import type { BlobStore } from "@trip-pipeline/core";
import { dailyQuery, dailyResponse, parseQuery } from "@trip-pipeline/core/dashboard-api";
import { readDailyKpis } from "@trip-pipeline/core/metrics-reader";
import { apiRoute, badRequest, respond } from "./api-http.js";
import { apiDailyConfig, parseConfig } from "./config.js";
import { blobStore, LAMBDA, lazily, type DepsSource, type Platform } from "./environment.js";

export interface DailyDeps {
  metrics: BlobStore;
}

export function createDailyHandler(source: DepsSource<DailyDeps>, platform: Platform = LAMBDA) {
  const deps = lazily(source);
  return apiRoute("apiDaily", async (event) => {
    const query = parseQuery(dailyQuery, event.queryStringParameters);
    if (!query.ok) return badRequest(query.detail);
    const { from, to } = query.value;
    const days = await readDailyKpis((await deps()).metrics, from, to);
    return respond(200, dailyResponse.parse({ from, to, days }));
  }, platform);
}

export function handlerFor(platform: Platform) {
  return createDailyHandler(async () => ({ metrics: blobStore(parseConfig("apiDaily", apiDailyConfig, process.env).bucket) }), platform);
}

export const handler = handlerFor(LAMBDA);
