/** AWS SDK clients, configured once for Lambda and for the embedded local AWS alike. */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { DEFAULT_REGION } from "./app.js";

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
 * Another way to reach DynamoDB than HTTP (the embedded local AWS hands calls to its emulator as
 * messages: packages/local/src/dynamodb-transport.ts), given by whoever builds the client.
 */
export interface DynamoDbTransport {
  /** Replaces what it names in the client (the transport, its signer, its endpoint). */
  config: Pick<DynamoDBClientConfig, "requestHandler" | "httpAuthSchemes" | "endpointProvider">;
  /** Middleware removed from the client, by name: work the transport never reads. */
  unusedMiddleware: readonly string[];
}

export function createDynamoDbClient(options: ClientOptions & { transport?: DynamoDbTransport } = {}): DynamoDBClient {
  const { transport } = options;
  if (!transport) return new DynamoDBClient(base(options));
  const client = new DynamoDBClient({ ...base(options), ...transport.config });
  for (const name of transport.unusedMiddleware) client.middlewareStack.remove(name);
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
