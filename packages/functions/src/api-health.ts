/** GET /api/health: the API answers (no data access, no sign-in: for probes and the page's first check). */

import type { HealthResponse } from "@trip-pipeline/core/dashboard/api";
import { formatDateTime } from "@trip-pipeline/core/domain/datetime";
import { apiRoute, respond } from "./api-http.js";
import { LAMBDA, type Platform } from "./environment.js";

export function handlerFor(platform: Platform) {
  return apiRoute(
    "apiHealth",
    async () => respond(200, { status: "ok", time: formatDateTime(new Date()) } satisfies HealthResponse),
    platform,
  );
}

export const handler = handlerFor(LAMBDA);
