/**
 * What each of our functions may do, as data: exact actions on the pipeline's resources (the
 * table, its per-day index, key prefixes of the bucket, the pipeline key, the metrics job).
 * A new function gets its entry here and `grantAccess(fn, ACCESS.name, resources)` in its stack;
 * nothing else grants our functions data access (SST's `bind` would grant dynamodb:* and s3:*,
 * so no function binds a resource: each gets its names in its environment, core's FUNCTION_ENV).
 *
 * For instance, a DynamoDB-stream consumer that keeps per-day KPI items up to date would get
 * `{ table: ["dynamodb:UpdateItem"], completedByDay: ["dynamodb:Query"], list: "any", objects:
 * [ON_FAILURE_DESTINATION], key: TABLE_AND_BUCKET_KEY }`, and an HTTP API function that reads
 * them `{ table: ["dynamodb:Query"], objects: [{ prefix: METRICS_PREFIX, actions:
 * ["s3:GetObject"] }], list: [METRICS_PREFIX], key: ["kms:Decrypt"] }`. The prod tests check
 * every consumer's role against its entry, and that no role has a wildcard action.
 */
import { Aws } from "aws-cdk-lib";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import {
  FAILED_BATCH_PREFIX,
  FAILED_PREFIX,
  METRICS_PREFIX,
  TRIP_TABLE,
} from "../packages/core/src/platform/pipeline-spec";
import { KPI_PREFIX } from "../packages/core/src/store/entities";

type TableAction =
  | "dynamodb:GetItem"
  | "dynamodb:Query"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:BatchWriteItem"
  | "dynamodb:BatchGetItem";
type ObjectAction = "s3:GetObject" | "s3:PutObject" | "s3:DeleteObject";
type KeyAction = "kms:Decrypt" | "kms:Encrypt" | "kms:GenerateDataKey";
type JobAction = "glue:StartJobRun" | "glue:GetJobRuns" | "glue:GetJobRun";

export interface FunctionAccess {
  /** Item actions on TripData itself. */
  table?: readonly TableAction[];
  /** Actions on the per-day GSI of completed trips (TRIP_TABLE.completedByDay). */
  completedByDay?: readonly "dynamodb:Query"[];
  /** Item reads on TripData with no partition limit: the trips a stream record names. */
  tableAnyPartition?: readonly ("dynamodb:GetItem" | "dynamodb:BatchGetItem")[];
  /** Partition-key patterns (dynamodb:LeadingKeys) the table and index actions are limited to. */
  leadingKeys?: { table?: readonly string[]; completedByDay?: readonly string[] };
  /** Object actions by key prefix of the analytics bucket. */
  objects?: readonly { prefix: string; actions: readonly ObjectAction[] }[];
  /** s3:ListBucket: for keys under these prefixes, or "any" (names only) where the caller lists or heads without a prefix. */
  list?: readonly string[] | "any";
  /** The pipeline key: the table, the bucket and the streams are encrypted with it. */
  key?: readonly KeyAction[];
  /** The daily metrics job (Analytics stack). */
  metricsJob?: readonly JobAction[];
}

/**
 * DynamoDB with a customer-managed key checks the caller's KMS permissions for every item read
 * or write (Decrypt on reads, Encrypt/GenerateDataKey on writes); S3 SSE-KMS puts need
 * GenerateDataKey. Nothing here decrypts anything the function did not read.
 */
export const TABLE_AND_BUCKET_KEY: readonly KeyAction[] = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/**
 * The stream consumers also write the on-failure record of a discarded batch: Lambda puts it
 * with the function's role. The Lambda documentation asks for s3:PutObject and s3:ListBucket
 * for S3 destinations without saying which prefix Lambda lists, so ListBucket is not limited
 * to one (it reveals key names only; the failed trail's keys hold dates and sequence numbers).
 */
export const ON_FAILURE_DESTINATION = { prefix: FAILED_BATCH_PREFIX, actions: ["s3:PutObject"] } as const;

export const ACCESS = {
  /** storeRawEvents: BatchWriteItem of RAW#START# items; rejected events to failed/start/. */
  tripBegin: {
    table: ["dynamodb:BatchWriteItem"],
    objects: [{ prefix: FAILED_PREFIX.start, actions: ["s3:PutObject"] }, ON_FAILURE_DESTINATION],
    list: "any",
    key: TABLE_AND_BUCKET_KEY,
  },
  /** storeRawEvents: BatchWriteItem of RAW#END# items; rejected events to failed/end/. */
  tripFinish: {
    table: ["dynamodb:BatchWriteItem"],
    objects: [{ prefix: FAILED_PREFIX.end, actions: ["s3:PutObject"] }, ON_FAILURE_DESTINATION],
    list: "any",
    key: TABLE_AND_BUCKET_KEY,
  },
  /**
   * settleTrips: Query a trip's partition, conditional PutItem of COMPLETED#, BatchWriteItem
   * deletes of RAW#; a trip's current anomaly under failed/anomalies/ is read, replaced and
   * removed (FailedTrail.putCurrent/removeCurrent). A read of a missing anomaly answers 404
   * (not 403) thanks to the ListBucket below.
   */
  matcher: {
    table: ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem"],
    objects: [
      { prefix: FAILED_PREFIX.anomalies, actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] },
      ON_FAILURE_DESTINATION,
    ],
    list: "any",
    key: TABLE_AND_BUCKET_KEY,
  },
  /**
   * The live KPI aggregator (COMPLETED# stream records in): its own KPI# items only (Query,
   * UpdateItem; PutItem of a day's EXPIRED marker, BatchWriteItem deletes of an expired day's
   * parts); BatchGetItem of the completed trips a batch touched (their current fares); Query of
   * the per-day GSI to recompute a removed extreme.
   */
  kpiAggregator: {
    table: ["dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"],
    tableAnyPartition: ["dynamodb:BatchGetItem"],
    completedByDay: ["dynamodb:Query"],
    leadingKeys: { table: ["KPI#*"], completedByDay: ["DAY#*"] },
    objects: [ON_FAILURE_DESTINATION],
    list: "any",
    key: TABLE_AND_BUCKET_KEY,
  },
  /**
   * reconcileKpis: GetJobRun of the run that succeeded, Query of the live KPI# items, and the run's
   * rows under metrics/: the reader lists the window's day folders, then reads each file.
   */
  reconcileKpis: {
    table: ["dynamodb:Query"],
    leadingKeys: { table: [`${KPI_PREFIX}*`] },
    objects: [{ prefix: METRICS_PREFIX, actions: ["s3:GetObject"] }],
    list: [METRICS_PREFIX],
    key: ["kms:Decrypt"],
    metricsJob: ["glue:GetJobRun"],
  },
  /** Dashboard GET /api/kpis/live: one Query on the day's KPI# partition (the live read model); no trip data. */
  dashboardLive: {
    table: ["dynamodb:Query"],
    leadingKeys: { table: [`${KPI_PREFIX}*`] },
    key: ["kms:Decrypt"],
  },
  /** Dashboard GET /api/kpis/daily: lists and reads the nightly rows under metrics/. */
  dashboardDaily: {
    objects: [{ prefix: METRICS_PREFIX, actions: ["s3:GetObject"] }],
    list: [METRICS_PREFIX],
    key: ["kms:Decrypt"],
  },
  /** startMetricsJob: GetJobRuns (a run for the same window already active?) then StartJobRun. */
  startMetricsJob: {
    metricsJob: ["glue:GetJobRuns", "glue:StartJobRun"],
  },
} as const satisfies Record<string, FunctionAccess>;

export interface AccessResources {
  tableArn: string;
  bucketArn: string;
  keyArn: string;
  /** Only for functions with metricsJob access. */
  metricsJobName?: string;
}

/** The policy statements of one access entry: one per resource group, actions sorted. */
export function accessStatements(access: FunctionAccess, resources: AccessResources): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const add = (actions: readonly string[] | undefined, arns: string[], conditions?: Record<string, unknown>) => {
    if (actions && actions.length > 0)
      statements.push(new PolicyStatement({ actions: [...actions].sort(), resources: arns, conditions }));
  };
  const leading = (keys: readonly string[] | undefined) =>
    keys ? { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [...keys] } } : undefined;
  add(access.table, [resources.tableArn], leading(access.leadingKeys?.table));
  add(access.tableAnyPartition, [resources.tableArn]);
  add(
    access.completedByDay,
    [`${resources.tableArn}/index/${TRIP_TABLE.completedByDay.name}`],
    leading(access.leadingKeys?.completedByDay),
  );
  for (const { prefix, actions } of access.objects ?? []) add(actions, [`${resources.bucketArn}/${prefix}*`]);
  if (access.list === "any") add(["s3:ListBucket"], [resources.bucketArn]);
  else if (access.list && access.list.length > 0)
    add(["s3:ListBucket"], [resources.bucketArn], {
      StringLike: { "s3:prefix": access.list.map((prefix) => `${prefix}*`) },
    });
  add(access.key, [resources.keyArn]);
  if (access.metricsJob) {
    if (!resources.metricsJobName) throw new Error("metricsJob access needs resources.metricsJobName");
    add(access.metricsJob, [
      `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}:job/${resources.metricsJobName}`,
    ]);
  }
  return statements;
}

export function grantAccess(grantee: IGrantable, access: FunctionAccess, resources: AccessResources): void {
  for (const statement of accessStatements(access, resources)) grantee.grantPrincipal.addToPrincipalPolicy(statement);
}
