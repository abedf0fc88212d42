/**
 * The handlers' dependencies, built once per container from the environment on the first call.
 *
 * ENVIRONMENT CONTRACT (Lambda and the local runtime alike):
 * - SST_APP: required by sst/node before it hands out any binding (any non-empty value
 *   offline); SST_STAGE: read by sst/node only for messages (set it too).
 * - SST_Table_tableName_TripData: the table (binding `Table.TripData.tableName`).
 * - SST_Bucket_bucketName_AnalyticsBucket: the failed trail's bucket (binding
 *   `Bucket.AnalyticsBucket.bucketName`); not read when TRIP_PIPELINE_LOCAL_BUCKET_DIR is set.
 * - TRIP_PIPELINE_LOCAL_BUCKET_DIR (optional): write the failed trail under this folder
 *   (FolderBlobStore) instead of S3.
 * - AWS_ENDPOINT_URL_DYNAMODB (optional): read by the AWS SDK itself (the local emulator). An
 *   endpoint needs credentials and a region like any SDK call: AWS_ACCESS_KEY_ID and
 *   AWS_SECRET_ACCESS_KEY (any values offline), AWS_REGION (default eu-north-1).
 * - RAW_RETENTION_DAYS (optional): positive integer, default DEFAULT_RAW_RETENTION_DAYS; RAW
 *   items get expires_at = write time + this many days.
 * - KPI_TTL_DAYS (optional, kpiAggregator): positive integer, default DEFAULT_KPI_TTL_DAYS; live
 *   KPI items expire this many days after their pickup day.
 * - LOG_LEVEL (optional): pino level, default info.
 * sst/node reads the SST_* variables once, when first imported: the import happens on the first
 * invocation, so the variables must be set before the first call, not before loading the module.
 */
import {
  createDocumentClient,
  createDynamoDbClient,
  createS3Client,
} from "@trip-pipeline/core/aws/clients";
import {
  createLogger,
  DEFAULT_KPI_TTL_DAYS,
  DEFAULT_RAW_RETENTION_DAYS,
  DEFAULT_RETRY,
  FailedTrail,
  FolderBlobStore,
  S3BlobStore,
  TripStore,
  type BlobStore,
  type KpiAggregatorDeps,
  type RawEventDeps,
} from "@trip-pipeline/core";

/** What every handler gets: the table, the failed trail, a logger, a clock and the write retry policy. */
export type HandlerDeps = RawEventDeps;

/** Tests pass the dependencies themselves; the deployed handlers pass a builder run on first use. */
export type DepsSource<D = HandlerDeps> = D | (() => Promise<D>);

export function lazily<D extends object>(source: DepsSource<D>): () => Promise<D> {
  if (typeof source !== "function") return async () => source;
  let pending: Promise<D> | undefined;
  return () => {
    // A failed build (missing variable) is not cached: the next invocation tries again.
    pending ??= source().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

export function fromEnvironment(handlerName: string): () => Promise<HandlerDeps> {
  return async () => {
    const { db, tableName } = await tableFromEnvironment();
    return {
      store: new TripStore(db, tableName),
      trail: new FailedTrail(await bucketStore(async () => (await import("sst/node/bucket")).Bucket.AnalyticsBucket.bucketName)),
      logger: createLogger(handlerName),
      now: () => new Date(),
      retry: DEFAULT_RETRY,
      rawRetentionDays: retentionDays(process.env.RAW_RETENTION_DAYS),
    };
  };
}

/** The kpiAggregator's: the table only (it has no bucket binding, and no grant for one). */
export function kpiAggregatorFromEnvironment(): () => Promise<KpiAggregatorDeps> {
  return async () => ({ ...(await tableFromEnvironment()), logger: createLogger("kpiAggregator"), ttlDays: kpiTtlDays(process.env.KPI_TTL_DAYS), now: () => new Date() });
}

async function tableFromEnvironment() {
  const { Table } = await import("sst/node/table");
  return { db: createDocumentClient(createDynamoDbClient()), tableName: Table.TripData.tableName };
}

/** The bucket: the local folder when TRIP_PIPELINE_LOCAL_BUCKET_DIR is set (then `name` is not read), else S3. */
export async function bucketStore(name: () => Promise<string>): Promise<BlobStore> {
  const folder = process.env.TRIP_PIPELINE_LOCAL_BUCKET_DIR;
  if (folder) return new FolderBlobStore(folder);
  return new S3BlobStore(createS3Client(), await name());
}

export function retentionDays(value: string | undefined): number {
  return positiveDays("RAW_RETENTION_DAYS", value, DEFAULT_RAW_RETENTION_DAYS);
}

export function kpiTtlDays(value: string | undefined): number {
  return positiveDays("KPI_TTL_DAYS", value, DEFAULT_KPI_TTL_DAYS);
}

function positiveDays(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${name} must be a positive whole number of days, got ${JSON.stringify(value)}`);
  return Number(value);
}
