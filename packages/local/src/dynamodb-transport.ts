/**
 * The local SDK configuration for DynamoDB: the clients of the local AWS hand each call to the
 * emulator thread as a message instead of an HTTP request. No sockets, no HTTP parsing on either
 * side, no signature, no wire headers, no endpoint rules: that per-call work was ours, not the pipeline's (it
 * was about a third of a call's cost here). The SDK still serialises, retries and parses errors
 * as it does against AWS. Crash injection sees every call (admitRequest), as it sees every HTTP
 * request.
 */
import { randomUUID } from "node:crypto";
import type { DynamoDbTransport } from "@trip-pipeline/core/platform/aws-clients";
import type { EmulatorThread } from "./emulator-host.js";
import { admitRequest } from "./lambda.js";

interface SdkRequest {
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const DECODER = new TextDecoder();

/** Middleware that only shapes what goes on the wire (headers the emulator never reads) or logs to a no-op logger. */
const WIRE_ONLY_MIDDLEWARE = [
  "contentLengthMiddleware",
  "getUserAgentMiddleware",
  "hostHeaderMiddleware",
  "recursionDetectionMiddleware",
  "loggerMiddleware",
];

/** A transport handing a client's calls to `emulators` (the emulator thread, or an emulator in this thread). */
export function localDynamoDb(emulators: Pick<EmulatorThread, "dynamodbEndpoint" | "callDynamoDb">): DynamoDbTransport {
  const handler = {
    async handle(request: SdkRequest) {
      const refused = admitRequest();
      if (refused) throw refused;
      const operation = (request.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      // Decoded as bytes: the SDK's body warns on string methods (Buffer.from would call them).
      const body = typeof request.body === "string" ? request.body : DECODER.decode(request.body ?? new Uint8Array());
      const reply = await emulators.callDynamoDb(operation, body);
      return {
        response: {
          statusCode: reply.status,
          headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": randomUUID() },
          body: Buffer.from(reply.body),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  const url = new URL(emulators.dynamodbEndpoint);
  return {
    config: {
      // One endpoint, known: no rule set to evaluate per call.
      endpointProvider: () => ({ url }),
      requestHandler: handler as unknown as DynamoDbTransport["config"]["requestHandler"],
      // The SigV4 scheme as the client defines it, but signing nothing: the emulator checks no signature.
      httpAuthSchemes: [
        {
          schemeId: "aws.auth#sigv4",
          identityProvider: (config) => config.getIdentityProvider("aws.auth#sigv4"),
          signer: { sign: async (request) => request },
        },
      ],
    },
    unusedMiddleware: WIRE_ONLY_MIDDLEWARE,
  };
}
