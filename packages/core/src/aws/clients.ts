/** AWS SDK clients, configured once for Lambda and for the embedded local AWS alike. */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { DEFAULT_REGION } from "../app.js";

export interface ClientOptions {
  /** A local emulator's URL; unset in Lambda. */
  endpoint?: string;
  region?: string;
  maxAttempts?: number;
}

function base(options: ClientOptions) {
  return {
    region: options.region ?? process.env.AWS_REGION ?? DEFAULT_REGION,
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    ...(options.endpoint !== undefined && {
      endpoint: options.endpoint,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
    // HTTP/1.1 keep-alive: the Kinesis emulator rejects the SDK's HTTP/2 attempt.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000 }),
  };
}

/**
 * The embedded local AWS may hand DynamoDB calls to its emulator without HTTP (see
 * packages/local/src/dynamodb-transport.ts): clients of its endpoint made in this process then
 * take its configuration. A global symbol, so that every copy of this module sees it: bundled
 * handlers carry their own.
 */
const LOCAL_DYNAMODB = Symbol.for("trip-pipeline.local-dynamodb");
export interface LocalDynamoDb {
  endpoint: string;
  /** Replaces what it names in every client of the endpoint (the transport, its signer, its endpoint). */
  config: Pick<DynamoDBClientConfig, "requestHandler" | "httpAuthSchemes" | "endpointProvider">;
  /** Middleware removed from every client of the endpoint, by name: work the transport never reads. */
  unusedMiddleware: readonly string[];
}

export function setLocalDynamoDb(local: LocalDynamoDb | undefined): void {
  (globalThis as Record<symbol, unknown>)[LOCAL_DYNAMODB] = local;
}

export function createDynamoDbClient(options: ClientOptions = {}): DynamoDBClient {
  const local = (globalThis as Record<symbol, unknown>)[LOCAL_DYNAMODB] as LocalDynamoDb | undefined;
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!local || endpoint !== local.endpoint) return new DynamoDBClient(base(options));
  const client = new DynamoDBClient({ ...base(options), ...local.config });
  for (const name of local.unusedMiddleware) client.middlewareStack.remove(name);
  return client;
}

/** Numbers come back wrapped (exact decimal text), never as binary floats. */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
    unmarshallOptions: { wrapNumbers: true },
  });
}

export function createKinesisClient(options: ClientOptions = {}): KinesisClient {
  return new KinesisClient(base(options));
}

export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({ ...base(options), forcePathStyle: options.endpoint !== undefined });
}
