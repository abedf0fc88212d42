/**
 * The environment variables the deployed functions are configured by, under our own names: the
 * stacks set them, the local runtime sets them for its functions, and each function's config
 * module (packages/functions/src/config.ts) parses them. A rename here is a compile error
 * everywhere they are used, never a variable silently missing at run time.
 */
export const FUNCTION_ENV = {
  /** The trip table's name. */
  tripTable: "TRIP_TABLE_NAME",
  /** The analytics bucket's name: failed trail, nightly KPI rows (metrics/). */
  analyticsBucket: "ANALYTICS_BUCKET_NAME",
  /** The local runtime's folder standing for the analytics bucket; when set, the bucket name is not read. */
  localBucketDir: "TRIP_PIPELINE_LOCAL_BUCKET_DIR",
  /** Days a RAW item lives after its write. */
  rawRetentionDays: "RAW_RETENTION_DAYS",
  /** Days a day's live KPI items live after their last write. */
  kpiTtlDays: "KPI_TTL_DAYS",
  /** Days the nightly KPI job recomputes, ending yesterday. */
  daysWindow: "DAYS_WINDOW",
  /** The ISO 4217 code the dashboard labels money with (dashboard-spec's CURRENCY_SETTING: default USD). */
  currency: "KPI_CURRENCY",
  /** The nightly KPI job (Glue). */
  glueJobName: "GLUE_JOB_NAME",
} as const;

export type FunctionEnvName = (typeof FUNCTION_ENV)[keyof typeof FUNCTION_ENV];
