/**
 * Each function's configuration, parsed from its environment once, on its first invocation.
 * The variable names are core's FUNCTION_ENV: the stacks set them (stacks/*.ts `environment`),
 * the local runtime sets them for its functions (packages/local/src/runtime.ts). A function
 * missing a variable, or given a bad one, fails with every problem named, before any work.
 *
 * Besides these, the AWS SDK reads its own: AWS_REGION, credentials, and locally
 * AWS_ENDPOINT_URL_DYNAMODB; pino's level is LOG_LEVEL (default info).
 */

import { CURRENCY_SETTING } from "@trip-pipeline/core/dashboard/spec";
import { FUNCTION_ENV as ENV } from "@trip-pipeline/core/platform/config-names";
import { DEFAULT_KPI_TTL_DAYS, DEFAULT_RAW_RETENTION_DAYS } from "@trip-pipeline/core/platform/pipeline-spec";
import { z } from "zod/v4";

const NOT_SET = "is not set";
const DAYS = /^[1-9]\d*$/;

const required = z.string({ error: NOT_SET }).min(1, NOT_SET);
const optional = z.string().min(1).optional();
const days = z.string({ error: NOT_SET }).regex(DAYS, "must be a positive whole number of days").transform(Number);
/** Whole days, the pipeline spec's default when unset. */
const daysOr = (fallback: number) => days.optional().transform((value) => value ?? fallback);

/** Where the analytics bucket is: S3 by name, or the local runtime's folder. */
export type BucketConfig = { folder: string } | { name: string };

/** The bucket variables: the local folder wins; without it the bucket's name is required. */
const bucket = {
  [ENV.analyticsBucket]: optional,
  [ENV.localBucketDir]: optional,
};
function bucketOf(env: {
  [ENV.analyticsBucket]?: string | undefined;
  [ENV.localBucketDir]?: string | undefined;
}): BucketConfig | undefined {
  const folder = env[ENV.localBucketDir];
  const name = env[ENV.analyticsBucket];
  return folder ? { folder } : name ? { name } : undefined;
}
function withBucket<
  T extends { [ENV.analyticsBucket]?: string | undefined; [ENV.localBucketDir]?: string | undefined },
  R,
>(shape: z.ZodType<T>, result: (env: T, bucket: BucketConfig) => R) {
  return shape.transform((env, ctx) => {
    const found = bucketOf(env);
    if (found) return result(env, found);
    ctx.issues.push({ code: "custom", input: undefined, path: [ENV.analyticsBucket], message: NOT_SET });
    return z.NEVER;
  });
}

/** tripBegin, tripFinish, matcher: the table, the failed trail's bucket, RAW items' retention. */
export const consumerConfig = withBucket(
  z.object({ [ENV.tripTable]: required, [ENV.rawRetentionDays]: daysOr(DEFAULT_RAW_RETENTION_DAYS), ...bucket }),
  (env, bucket) => ({ tableName: env[ENV.tripTable], bucket, rawRetentionDays: env[ENV.rawRetentionDays] }),
);

/** kpiAggregator: the table and how long a day's live KPIs live (no bucket: it has no grant for one). */
export const kpiAggregatorConfig = z
  .object({ [ENV.tripTable]: required, [ENV.kpiTtlDays]: daysOr(DEFAULT_KPI_TTL_DAYS) })
  .transform((env) => ({ tableName: env[ENV.tripTable], ttlDays: env[ENV.kpiTtlDays] }));

/** The stage's currency, labelling the dashboard's money figures: a bad code fails the first call, not a page later. */
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
  .optional()
  .transform((value) => value ?? CURRENCY_SETTING.default);

/** GET /api/kpis/live: the table, the currency. */
export const apiLiveConfig = z
  .object({ [ENV.tripTable]: required, [ENV.currency]: currency })
  .transform((env) => ({ tableName: env[ENV.tripTable], currency: env[ENV.currency] }));

/** GET /api/kpis/daily: the bucket holding the nightly rows, the currency. */
export const apiDailyConfig = withBucket(z.object({ ...bucket, [ENV.currency]: currency }), (env, bucket) => ({
  bucket,
  currency: env[ENV.currency],
}));

/** The daily schedule's job: which Glue job, over how many days (the window the stack deploys). */
export const startMetricsJobConfig = z
  .object({ [ENV.glueJobName]: required, [ENV.daysWindow]: days })
  .transform((env) => ({ jobName: env[ENV.glueJobName], daysWindow: env[ENV.daysWindow] }));

/** The reconciliation after each nightly run: the table, the bucket, the job's window for runs that name none. */
export const reconcileKpisConfig = withBucket(
  z.object({ [ENV.tripTable]: required, [ENV.daysWindow]: days, ...bucket }),
  (env, bucket) => ({ tableName: env[ENV.tripTable], bucket, daysWindow: env[ENV.daysWindow] }),
);

/**
 * The configuration `schema` reads from `env`, or an error naming the function and every bad
 * variable: `matcher: TRIP_TABLE_NAME is not set; RAW_RETENTION_DAYS must be a positive whole
 * number of days, got "0"`. Empty variables count as unset.
 */
export function parseConfig<S extends z.ZodType>(functionName: string, schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = schema.safeParse(set);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "");
    const value = set[name];
    return `${name} ${issue.message}${value === undefined ? "" : `, got ${JSON.stringify(value)}`}`;
  });
  throw new Error(`${functionName}: ${problems.join("; ")}`);
}
