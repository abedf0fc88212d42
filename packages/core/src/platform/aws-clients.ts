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

/**
 * Numbers come back wrapped (exact decimal text), never as binary floats.
 *
 * Each command class's middleware stack is resolved once, not on every call (that was a fifth of
 * the handlers' CPU, locally). The SDK's own cache (`cacheMiddleware`) refuses document clients:
 * the handler a lib-dynamodb command resolves sends that very command again, whatever command it
 * is later given. So this client caches the handler of the plain command inside (with the
 * document marshalling added as lib-dynamodb adds it) and calls it with each command's own.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  const documents = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
    unmarshallOptions: { wrapNumbers: true },
  });
  const send = documents.send.bind(documents) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  const resolved = new Map<unknown, (command: unknown) => Promise<{ output: unknown }>>();
  // Middleware added to or removed from the client later (tests inject faults so) takes effect.
  const stack = documents.middlewareStack as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const change of ["add", "addRelativeTo", "remove", "removeByTag"]) {
    const apply = stack[change]!.bind(stack);
    stack[change] = (...args) => {
      resolved.clear();
      return apply(...args);
    };
  }
  documents.send = ((command: DocumentCommand, ...rest: unknown[]) => {
    if (rest.length > 0 || typeof command.addMarshallingMiddleware !== "function") return send(command, ...rest);
    let handler = resolved.get(command.constructor);
    if (!handler) {
      command.addMarshallingMiddleware(documents.config);
      handler = command.clientCommand.resolveMiddleware(
        documents.middlewareStack.concat(command.middlewareStack),
        documents.config,
        undefined,
      );
      resolved.set(command.constructor, handler);
    }
    return handler(command.clientCommand).then((result) => result.output);
  }) as unknown as typeof documents.send;
  return documents;
}

/** What a lib-dynamodb command is made of (members its types keep protected). */
interface DocumentCommand {
  addMarshallingMiddleware?(config: unknown): void;
  middlewareStack: Parameters<DynamoDBDocumentClient["middlewareStack"]["concat"]>[0];
  clientCommand: {
    resolveMiddleware(
      stack: unknown,
      config: unknown,
      options: undefined,
    ): (command: unknown) => Promise<{ output: unknown }>;
  };
}

export function createKinesisClient(options: ClientOptions = {}): KinesisClient {
  return new KinesisClient(base(options));
}

export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({ ...base(options), forcePathStyle: options.endpoint !== undefined });
}
