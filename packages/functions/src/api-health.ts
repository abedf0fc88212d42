/** GET /api/health: the API answers (no data access, no sign-in: for probes and the page's first check). */
import { formatDateTime } from "@trip-pipeline/core";
import type { HealthResponse } from "@trip-pipeline/core/dashboard-api";
import { apiRoute, respond } from "./api-http.js";

export const handler = apiRoute("apiHealth", async () => respond(200, { status: "ok", time: formatDateTime(new Date()) } satisfies HealthResponse));
