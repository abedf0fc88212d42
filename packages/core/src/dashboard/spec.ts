/**
 * The dashboard API's routes and their handler modules: the Dashboard stack deploys them behind
 * the JWT authorizer, and `pnpm start --serve` runs the same modules on 127.0.0.1 without it.
 */
import { FUNCTION_ENV } from "../platform/config-names.js";

export const DASHBOARD_ROUTES = {
  "GET /api/kpis/live": { handler: "packages/functions/src/api-live.handler", signedIn: true },
  "GET /api/kpis/daily": { handler: "packages/functions/src/api-daily.handler", signedIn: true },
  "GET /api/health": { handler: "packages/functions/src/api-health.handler", signedIn: false },
} as const;

/**
 * The OAuth scope the data routes require (API Gateway's authorizationScopes): only an access
 * token of the dashboard's client carries it, so ID tokens are refused. The page asks for it.
 */
export const KPI_READ_SCOPE = { resourceServer: "trip-kpis", scope: "read" } as const;
export const KPI_READ = `${KPI_READ_SCOPE.resourceServer}/${KPI_READ_SCOPE.scope}` as const;

export type DashboardRoute = keyof typeof DASHBOARD_ROUTES;

export const DASHBOARD_FUNCTION = {
  // A live read is 16 GSI Queries (or the read model's few items); a daily read is ≤ 4 List + 93 Get.
  timeoutSeconds: 10,
  memoryMb: 512,
} as const;

/**
 * The stage setting naming the currency of every money figure (an ISO 4217 code): set it in the
 * environment of `sst deploy` (the Dashboard stack passes it to the API functions) or of
 * `pnpm start --serve`. The pipeline stores amounts without a currency; this only labels them.
 */
export const CURRENCY_SETTING = { env: FUNCTION_ENV.currency, default: "USD" } as const;

/** The currency an environment sets (CURRENCY_SETTING); a bad code throws, naming the variable. */
export function currencyOf(env: Record<string, string | undefined>): string {
  const value = env[CURRENCY_SETTING.env] || CURRENCY_SETTING.default;
  if (!/^[A-Z]{3}$/.test(value))
    throw new Error(`${CURRENCY_SETTING.env}=${JSON.stringify(value)} is not an ISO 4217 code such as USD`);
  return value;
}
