/**
 * The handlers' dependencies, built once per container on the first call: the configuration
 * from the environment (config.ts), the clients and log destination from the platform.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { KpiAggregatorDeps } from "@trip-pipeline/core/live/aggregator";
import {
  createDocumentClient,
  createDynamoDbClient,
  createS3Client,
  type DynamoDbTransport,
} from "@trip-pipeline/core/platform/aws-clients";
import { createLogger, type LogDestination, type Logger } from "@trip-pipeline/core/platform/logger";
import { DEFAULT_RETRY } from "@trip-pipeline/core/platform/retry";
import { type BlobStore, FolderBlobStore, S3BlobStore } from "@trip-pipeline/core/store/blob-store";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { TripStore } from "@trip-pipeline/core/store/trip-store";
import type { RawEventDeps } from "@trip-pipeline/core/streams/raw-events";
import { type BucketConfig, consumerConfig, kpiAggregatorConfig, parseConfig } from "./config.js";

/** What every handler gets: the table, the failed trail, a logger, a clock and the write retry policy. */
export type HandlerDeps = RawEventDeps;

/**
 * What runs a handler, beyond its configuration: Lambda gives nothing here (the SDK's own
 * transport, logs on stderr); the local runtime its DynamoDB transport and its log files.
 */
export interface Platform {
  dynamoDbTransport?: DynamoDbTransport;
  logDestination?: LogDestination;
}

/** Lambda's platform. */
export const LAMBDA: Platform = {};

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

/** tripBegin, tripFinish and the matcher: the table, the failed trail and RAW items' retention. */
export function fromEnvironment(handlerName: string, platform: Platform): () => Promise<HandlerDeps> {
  return async () => {
    const config = parseConfig(handlerName, consumerConfig, process.env);
    return {
      store: new TripStore(documentClient(platform), config.tableName),
      trail: new FailedTrail(blobStore(config.bucket)),
      logger: platformLogger(handlerName, platform),
      now: () => new Date(),
      retry: DEFAULT_RETRY,
      rawRetentionDays: config.rawRetentionDays,
    };
  };
}

/** The kpiAggregator's: the table only (it has no bucket variable, and no grant for one). */
export function kpiAggregatorFromEnvironment(platform: Platform): () => Promise<KpiAggregatorDeps> {
  return async () => {
    const config = parseConfig("kpiAggregator", kpiAggregatorConfig, process.env);
    return {
      db: documentClient(platform),
      tableName: config.tableName,
      logger: platformLogger("kpiAggregator", platform),
      ttlDays: config.ttlDays,
      now: () => new Date(),
    };
  };
}

/** The table's client, through the platform's transport if it has one. */
export function documentClient(platform: Platform): DynamoDBDocumentClient {
  return createDocumentClient(createDynamoDbClient({ transport: platform.dynamoDbTransport }));
}

export function platformLogger(name: string, platform: Platform, bindings: Record<string, unknown> = {}): Logger {
  return createLogger(name, bindings, platform.logDestination);
}

/** The bucket: the local runtime's folder, else S3. */
export function blobStore(bucket: BucketConfig): BlobStore {
  return "folder" in bucket ? new FolderBlobStore(bucket.folder) : new S3BlobStore(createS3Client(), bucket.name);
}
