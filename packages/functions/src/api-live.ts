/** GET /api/kpis/live?date=YYYY-MM-DD (default today, UTC): the day's live KPIs, as_of, freshness_s and settling, or that they expired. */
import { formatDateTime } from "@trip-pipeline/core";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/aws/clients";
import { liveQuery, liveResponse, parseQuery, utcDay } from "@trip-pipeline/core/dashboard-api";
import { liveKpis, type LiveDay } from "@trip-pipeline/core/live-kpis";
import { apiRoute, badRequest, requiredEnv, respond, stageCurrency } from "./api-http.js";
import { lazily, type DepsSource } from "./environment.js";

export interface LiveDeps {
  /** The read model (core's liveKpis on the table). */
  live(date: string, now: Date): Promise<LiveDay | null>;
  now(): Date;
  /** The stage's currency code, labelling the money figures. */
  currency: string;
}

export function createLiveHandler(source: DepsSource<LiveDeps>) {
  const deps = lazily(source);
  return apiRoute("apiLive", async (event) => {
    const query = parseQuery(liveQuery, event.queryStringParameters);
    if (!query.ok) return badRequest(query.detail);
    const { live, now, currency } = await deps();
    const at = now();
    const date = query.value.date ?? utcDay(at);
    return respond(200, liveResponse.parse({ date, kpi: await live(date, at), served_at: formatDateTime(at), currency }));
  });
}

/** Environment: TRIP_TABLE_NAME, KPI_CURRENCY (optional); AWS_ENDPOINT_URL_DYNAMODB locally (read by the SDK). */
export const handler = createLiveHandler(async () => {
  const db = createDocumentClient(createDynamoDbClient());
  const tableName = requiredEnv("TRIP_TABLE_NAME");
  return { live: (date, now) => liveKpis(db, tableName, date, now), now: () => new Date(), currency: stageCurrency() };
});
