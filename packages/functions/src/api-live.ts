/** GET /api/kpis/live?date=YYYY-MM-DD (default today, UTC): the day's live KPIs, as_of, freshness_s and settling, or that they expired. */

import { liveQuery, liveResponse, parseQuery, utcDay } from "@trip-pipeline/core/dashboard/api";
import { formatDateTime } from "@trip-pipeline/core/domain/datetime";
import { type LiveDay, liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { apiRoute, badRequest, respond } from "./api-http.js";
import { apiLiveConfig, parseConfig } from "./config.js";
import { type DepsSource, documentClient, LAMBDA, lazily, type Platform } from "./environment.js";

export interface LiveDeps {
  /** The read model (core's liveKpis on the table). */
  live(date: string, now: Date): Promise<LiveDay | null>;
  now(): Date;
  /** The stage's currency code, labelling the money figures. */
  currency: string;
}

export function createLiveHandler(source: DepsSource<LiveDeps>, platform: Platform = LAMBDA) {
  const deps = lazily(source);
  return apiRoute(
    "apiLive",
    async (event) => {
      const query = parseQuery(liveQuery, event.queryStringParameters);
      if (!query.ok) return badRequest(query.detail);
      const { live, now, currency } = await deps();
      const at = now();
      const date = query.value.date ?? utcDay(at);
      return respond(
        200,
        liveResponse.parse({ date, kpi: await live(date, at), served_at: formatDateTime(at), currency }),
      );
    },
    platform,
  );
}

export function handlerFor(platform: Platform) {
  return createLiveHandler(async () => {
    const { tableName, currency } = parseConfig("apiLive", apiLiveConfig, process.env);
    const db = documentClient(platform);
    return { live: (date, now) => liveKpis(db, tableName, date, now), now: () => new Date(), currency };
  }, platform);
}

export const handler = handlerFor(LAMBDA);
