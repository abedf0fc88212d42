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
  DEFAULT_RAW_RETENTION_DAYS,
  DEFAULT_RETRY,
  FailedTrail,
  FolderBlobStore,
  S3BlobStore,
  TripStore,
  type BlobStore,
  type RawEventDeps,
} from "@trip-pipeline/core";

/** What every handler gets: the table, the failed trail, a logger, a clock and the write retry policy. */
export type HandlerDeps = RawEventDeps;

/** Tests pass the dependencies themselves; the deployed handlers pass a builder run on first use. */
export type DepsSource<T = HandlerDeps> = T | (() => Promise<T>);

export function lazily<T extends object>(source: DepsSource<T>): () => Promise<T> {
  if (typeof source !== "function") return async () => source;
  let pending: Promise<T> | undefined;
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
    const { Table } = await import("sst/node/table");
    const db = createDocumentClient(createDynamoDbClient());
    return {
      store: new TripStore(db, Table.TripData.tableName),
      trail: new FailedTrail(await bucketStore(async () => (await import("sst/node/bucket")).Bucket.AnalyticsBucket.bucketName)),
      logger: createLogger(handlerName),
      now: () => new Date(),
      retry: DEFAULT_RETRY,
      rawRetentionDays: retentionDays(process.env.RAW_RETENTION_DAYS),
    };
  };
}

/** The bucket: the local folder when TRIP_PIPELINE_LOCAL_BUCKET_DIR is set (then `name` is not read), else S3. */
export async function bucketStore(name: () => Promise<string>): Promise<BlobStore> {
  const folder = process.env.TRIP_PIPELINE_LOCAL_BUCKET_DIR;
  if (folder) return new FolderBlobStore(folder);
  return new S3BlobStore(createS3Client(), await name());
}

export function retentionDays(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_RAW_RETENTION_DAYS;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`RAW_RETENTION_DAYS must be a positive whole number of days, got ${JSON.stringify(value)}`);
  return Number(value);
}
