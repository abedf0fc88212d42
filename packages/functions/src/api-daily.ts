/** GET /api/kpis/daily?from=YYYY-MM-DD&to=YYYY-MM-DD: the nightly rows from metrics/, at most 93 days. */
import type { BlobStore } from "@trip-pipeline/core";
import { dailyQuery, dailyResponse, parseQuery } from "@trip-pipeline/core/dashboard-api";
import { readDailyKpis } from "@trip-pipeline/core/metrics-reader";
import { apiRoute, badRequest, requiredEnv, respond } from "./api-http.js";
import { bucketStore, lazily, type DepsSource } from "./environment.js";

export interface DailyDeps {
  metrics: BlobStore;
}

export function createDailyHandler(source: DepsSource<DailyDeps>) {
  const deps = lazily(source);
  return apiRoute("apiDaily", async (event) => {
    const query = parseQuery(dailyQuery, event.queryStringParameters);
    if (!query.ok) return badRequest(query.detail);
    const { from, to } = query.value;
    const days = await readDailyKpis((await deps()).metrics, from, to);
    return respond(200, dailyResponse.parse({ from, to, days }));
  });
}

/** Environment: METRICS_BUCKET_NAME, or TRIP_PIPELINE_LOCAL_BUCKET_DIR locally. */
export const handler = createDailyHandler(async () => ({ metrics: await bucketStore(async () => requiredEnv("METRICS_BUCKET_NAME")) }));
